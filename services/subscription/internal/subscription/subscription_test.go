package subscription

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestPlanValidation(t *testing.T) {
	valid := PlanInput{Name: "Premium", Price: 150_000, DiscountPrice: ptr[int64](99_000),
		Description: "Four screens.\nUltra HD.", ActivePeriod: 30}
	cases := []struct {
		name  string
		edit  func(*PlanInput)
		field string // named in the message; "" = valid
	}{
		{"valid", func(*PlanInput) {}, ""},
		{"no discount", func(p *PlanInput) { p.DiscountPrice = nil }, ""},
		{"name trimmed to nothing", func(p *PlanInput) { p.Name = "  \t " }, "name"},
		{"name of 100 characters", func(p *PlanInput) { p.Name = strings.Repeat("é", 100) }, ""},
		{"name of 101 characters", func(p *PlanInput) { p.Name = strings.Repeat("é", 101) }, "name"},
		{"name with a newline", func(p *PlanInput) { p.Name = "Pre\nmium" }, "name"},
		{"price zero", func(p *PlanInput) { p.Price, p.DiscountPrice = 0, nil }, "price"},
		{"price negative", func(p *PlanInput) { p.Price, p.DiscountPrice = -1, nil }, "price"},
		{"price too large", func(p *PlanInput) { p.Price = MaxPrice + 1 }, "price"},
		{"price of 1", func(p *PlanInput) { p.Price, p.DiscountPrice = 1, nil }, ""},
		{"discount zero", func(p *PlanInput) { p.DiscountPrice = ptr[int64](0) }, "discountPrice"},
		{"discount negative", func(p *PlanInput) { p.DiscountPrice = ptr[int64](-5) }, "discountPrice"},
		{"discount equal to price", func(p *PlanInput) { p.DiscountPrice = ptr[int64](150_000) }, "discountPrice"},
		{"discount above price", func(p *PlanInput) { p.DiscountPrice = ptr[int64](150_001) }, "discountPrice"},
		{"discount one below price", func(p *PlanInput) { p.DiscountPrice = ptr[int64](149_999) }, ""},
		{"empty description", func(p *PlanInput) { p.Description = "" }, ""},
		{"description of 2000", func(p *PlanInput) { p.Description = strings.Repeat("x", 2000) }, ""},
		{"description of 2001", func(p *PlanInput) { p.Description = strings.Repeat("x", 2001) }, "description"},
		{"description with a bell", func(p *PlanInput) { p.Description = "ding\a" }, "description"},
		{"period zero", func(p *PlanInput) { p.ActivePeriod = 0 }, "activePeriod"},
		{"period one day", func(p *PlanInput) { p.ActivePeriod = 1 }, ""},
		{"period ten years", func(p *PlanInput) { p.ActivePeriod = 3650 }, ""},
		{"period beyond ten years", func(p *PlanInput) { p.ActivePeriod = 3651 }, "activePeriod"},
		{"period huge", func(p *PlanInput) { p.ActivePeriod = 1 << 40 }, "activePeriod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := valid
			in.DiscountPrice = ptr(*valid.DiscountPrice)
			c.edit(&in)
			_, err := in.Validate()
			var ve *ValidationError
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case c.field != "" && (!errors.As(err, &ve) || !strings.HasPrefix(ve.Msg, c.field+" ")):
				t.Fatalf("err = %v, want a validation error about %s", err, c.field)
			}
		})
	}
	got, err := PlanInput{Name: "  Basic  ", Price: 50_000, ActivePeriod: 30}.Validate()
	if err != nil || got.Name != "Basic" {
		t.Fatalf("Validate = %+v, %v: want the name trimmed", got, err)
	}
}

func TestEntitledHonoursTheEndTime(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, status, endAt string
		want                bool
	}{
		{"active, ends later", StatusActive, "2025-03-01T12:00:01Z", true},
		{"active, ends now", StatusActive, "2025-03-01T12:00:00Z", false},
		{"active, ended (expiry job not run yet)", StatusActive, "2025-03-01T11:59:59Z", false},
		{"expired, end in the future", StatusExpired, "2099-01-01T00:00:00Z", false},
		{"unknown status", "PAUSED", "2099-01-01T00:00:00Z", false},
		{"active, end unreadable", StatusActive, "tomorrow", false},
		{"active, no end", StatusActive, "", false},
		{"active, end in another zone", StatusActive, "2025-03-01T13:30:00+01:00", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Entitled(c.status, c.endAt, now); got != c.want {
				t.Fatalf("Entitled(%s, %s) = %v, want %v", c.status, c.endAt, got, c.want)
			}
			if got := DueForExpiry(c.status, c.endAt, now); got != (c.status == StatusActive && !c.want) {
				t.Fatalf("DueForExpiry(%s, %s) = %v", c.status, c.endAt, got)
			}
		})
	}
}

func TestTermIsTheDaysPaidForAndSortsAsText(t *testing.T) {
	now := time.Date(2024, 2, 28, 23, 59, 59, 999_000_000, time.FixedZone("WIB", 7*3600))
	start, end := Term(now, 30)
	if start != "2024-02-28T16:59:59Z" || end != "2024-03-29T16:59:59Z" {
		t.Fatalf("Term = %s .. %s", start, end)
	}
	// One width, so text order is time order (the expiry query relies on it).
	a, b := FormatTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), FormatTime(time.Date(2025, 1, 1, 0, 0, 0, 500, time.UTC))
	if len(a) != len(b) || a > b {
		t.Fatalf("%s and %s", a, b)
	}
}

func TestDecideGrant(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	valid := &Current{Status: StatusActive, EndAt: "2025-03-02T00:00:00Z"}
	ended := &Current{Status: StatusActive, EndAt: "2025-03-01T12:00:00Z"}
	cases := []struct {
		name  string
		facts GrantFacts
		want  Decision
	}{
		{"granted before: announce again", GrantFacts{Granted: true, Plan: PlanMissing, Current: valid},
			Decision{Action: ReannounceGrant}},
		{"refused before: announce again", GrantFacts{Refused: true, Plan: PlanActive},
			Decision{Action: ReannounceRefusal}},
		{"granted wins over refused", GrantFacts{Granted: true, Refused: true},
			Decision{Action: ReannounceGrant}},
		{"plan missing", GrantFacts{Plan: PlanMissing},
			Decision{Action: Refuse, Reason: RefusedPlanNotFound}},
		{"plan deactivated", GrantFacts{Plan: PlanInactive, Current: valid},
			Decision{Action: Refuse, Reason: RefusedPlanInactive}},
		{"no subscription", GrantFacts{Plan: PlanActive},
			Decision{Action: Grant}},
		{"a subscription still valid", GrantFacts{Plan: PlanActive, Current: valid},
			Decision{Action: Refuse, Reason: RefusedActiveExists}},
		{"a subscription ended, not yet expired", GrantFacts{Plan: PlanActive, Current: ended},
			Decision{Action: ExpireAndGrant}},
		{"a subscription with an unreadable end", GrantFacts{Plan: PlanActive, Current: &Current{Status: StatusActive, EndAt: "?"}},
			Decision{Action: ExpireAndGrant}},
		{"an expired one is none", GrantFacts{Plan: PlanActive, Current: &Current{Status: StatusExpired, EndAt: "2099-01-01T00:00:00Z"}},
			Decision{Action: Grant}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.facts.Now = now
			if got := DecideGrant(c.facts); got != c.want {
				t.Fatalf("DecideGrant = %+v (%s), want %+v", got, got.Action, c.want)
			}
		})
	}
}

func TestPaidOrderCheck(t *testing.T) {
	valid := PaidOrder{ID: "0b9c6d4e-1111-4a2b-9c3d-123456789abc", UserID: "user-1", PlanID: "p-1", ActivePeriod: 30}
	if err := valid.Check(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*PaidOrder){
		"no id":           func(o *PaidOrder) { o.ID = "" },
		"id with a colon": func(o *PaidOrder) { o.ID = "a:b" },
		"id with a slash": func(o *PaidOrder) { o.ID = "../x" },
		"id too long":     func(o *PaidOrder) { o.ID = strings.Repeat("a", 129) },
		"no user":         func(o *PaidOrder) { o.UserID = "" },
		"no plan":         func(o *PaidOrder) { o.PlanID = "" },
		"no period":       func(o *PaidOrder) { o.ActivePeriod = 0 },
		"period too long": func(o *PaidOrder) { o.ActivePeriod = 3651 },
		"negative period": func(o *PaidOrder) { o.ActivePeriod = -30 },
	} {
		t.Run(name, func(t *testing.T) {
			o := valid
			edit(&o)
			if err := o.Check(); !errors.Is(err, ErrMalformedOrder) {
				t.Fatalf("Check = %v, want ErrMalformedOrder", err)
			}
		})
	}
}
