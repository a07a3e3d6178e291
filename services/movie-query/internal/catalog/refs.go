package catalog

// ResolveRefs brings refs up to date with what is known of the named entries
// (by id; entries of another kind are ignored): a newer name replaces an older
// one, and a deleted entry's ref is dropped. It never moves a ref back to an
// older version. The result is a new slice, never nil; changed reports whether
// it differs from refs.
func ResolveRefs(refs []Ref, kind string, known map[string]Named) (out []Ref, changed bool) {
	out = make([]Ref, 0, len(refs))
	for _, r := range refs {
		n, ok := known[r.ID]
		if !ok || n.Kind != kind {
			out = append(out, r)
			continue
		}
		if n.Deleted {
			changed = true
			continue
		}
		if n.Version > r.Version {
			r = Ref{ID: r.ID, Name: n.Name, Version: n.Version}
			changed = true
		}
		out = append(out, r)
	}
	return out, changed
}

// ResolveMovieRefs applies ResolveRefs to each of the movie's four lists.
func ResolveMovieRefs(m *Movie, known map[string]Named) (changed bool) {
	for _, kind := range []string{KindActor, KindCreator, KindCategory, KindTag} {
		refs := m.Refs(kind)
		out, c := ResolveRefs(*refs, kind, known)
		*refs = out
		changed = changed || c
	}
	return changed
}
