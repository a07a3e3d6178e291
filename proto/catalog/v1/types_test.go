package catalogv1

import "testing"

func TestEventTypeRoundTrip(t *testing.T) {
	for _, agg := range []string{AggregateActor, AggregateMovie, AggregateVideo} {
		for _, act := range []string{ActionCreated, ActionRenamed, ActionDeleted} {
			gotAgg, gotAct, ok := ParseEventType(EventType(agg, act))
			if !ok || gotAgg != agg || gotAct != act {
				t.Fatalf("ParseEventType(EventType(%q,%q)) = %q,%q,%v", agg, act, gotAgg, gotAct, ok)
			}
		}
	}
	for _, bad := range []string{"", "com.example.x", "tenflix.catalog.movie", "tenflix.catalog.movie.created.v2", "tenflix.catalog..created.v1", "tenflix.catalog.a.b.c.v1"} {
		if _, _, ok := ParseEventType(bad); ok {
			t.Errorf("ParseEventType(%q) accepted", bad)
		}
	}
}
