package emulator

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	signatureComponent = regexp.MustCompile(`^s--[A-Za-z0-9_-]+--$`)
	versionComponent   = regexp.MustCompile(`^v\d+$`)
	transformationPart = regexp.MustCompile(`^([a-z]{1,3}_[^,]*)(,[a-z]{1,3}_[^,]*)*$`)
	derivedFile        = regexp.MustCompile(`^(index\.m3u8|seg_\d{3,6}\.ts)$`)
)

var contentTypes = map[string]string{
	".m3u8": "application/x-mpegURL", ".ts": "video/MP2T", ".mp4": "video/mp4",
	".webm": "video/webm", ".mov": "video/quicktime",
}

// deliveryRef is a delivery URL taken apart:
// /<cloud>/video/<type>/[s--SIG--/]<transformation...>/[v<version>/]<public id>.<ext>
type deliveryRef struct {
	typ, signature, transformation string
	file                           string // public id (with sub-path) and extension
}

func parseDelivery(p string) (deliveryRef, bool) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(parts) < 4 || parts[1] != "video" || !deliveryType[parts[2]] {
		return deliveryRef{}, false
	}
	ref := deliveryRef{typ: parts[2]}
	rest := parts[3:]
	if signatureComponent.MatchString(rest[0]) {
		ref.signature, rest = rest[0], rest[1:]
	}
	// The version (the SDK always writes one for a public id in a folder)
	// ends the transformations; without it, leading components that read as
	// transformations (sp_hd, c_scale,w_640) are taken as such.
	n := slices.IndexFunc(rest, versionComponent.MatchString)
	if n >= 0 {
		ref.transformation = strings.Join(rest[:n], "/")
		rest = rest[n+1:]
	} else {
		n = 0
		for n < len(rest)-1 && transformationPart.MatchString(rest[n]) {
			n++
		}
		ref.transformation, rest = strings.Join(rest[:n], "/"), rest[n:]
	}
	if len(rest) == 0 || slices.Contains(rest, "") || slices.Contains(rest, "..") || slices.Contains(rest, ".") {
		return deliveryRef{}, false
	}
	ref.file = strings.Join(rest, "/")
	return ref, true
}

// handleDelivery serves originals and derived HLS files. Types
// authenticated and private need the URL signature; a wrong or missing one
// is 401 with X-Cld-Error, as Cloudinary answers.
func (s *Server) handleDelivery(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/"+s.cfg.CloudName+"/") {
		deliveryError(w, http.StatusNotFound, "Resource not found")
		return
	}
	ref, ok := parseDelivery(r.URL.Path)
	if !ok {
		deliveryError(w, http.StatusNotFound, "Resource not found")
		return
	}
	toSign := ref.file
	if ref.transformation != "" {
		toSign = ref.transformation + "/" + ref.file
	}
	if ref.typ != "upload" || ref.signature != "" {
		if ref.signature == "" || !validURLSignature(ref.signature, toSign, s.cfg.APISecret, s.cfg.SignatureAlgorithm) {
			deliveryError(w, http.StatusUnauthorized, "Invalid signature - "+ref.signature)
			return
		}
	}
	ext := path.Ext(ref.file)
	switch {
	case ref.transformation == "":
		s.serveOriginal(w, r, ref, ext)
	case strings.HasPrefix(ref.transformation, "sp_") && !strings.Contains(ref.transformation, "/"):
		s.serveDerived(w, r, ref, strings.TrimPrefix(ref.transformation, "sp_"), ext)
	default:
		deliveryError(w, http.StatusBadRequest, "The emulator delivers originals and sp_<profile> HLS only, not "+ref.transformation)
	}
}

func (s *Server) serveOriginal(w http.ResponseWriter, r *http.Request, ref deliveryRef, ext string) {
	var a Asset
	var found bool
	s.store.view(func(st *state) {
		if p := st.Assets[assetKey(ref.typ, strings.TrimSuffix(ref.file, ext))]; p != nil {
			a, found = cloneAsset(p), true
		}
	})
	if !found || "."+a.Format != ext {
		deliveryError(w, http.StatusNotFound, "Resource not found")
		return
	}
	s.serveFile(w, r, s.store.originalPath(&a), ext, nil)
}

// serveDerived serves <public id>.m3u8 (the master) and
// <public id>/<rendition>/<file> of an eager ladder, playlists rewritten so
// that every URI is this emulator's (signed) delivery path.
func (s *Server) serveDerived(w http.ResponseWriter, r *http.Request, ref deliveryRef, profile, ext string) {
	var a Asset
	var found bool
	var sub []string // rendition, file; nil for the master
	s.store.view(func(st *state) {
		if p := st.Assets[assetKey(ref.typ, strings.TrimSuffix(ref.file, ext))]; p != nil && ext == ".m3u8" {
			a, found = cloneAsset(p), true
			return
		}
		parts := strings.Split(ref.file, "/")
		if len(parts) < 3 {
			return
		}
		if p := st.Assets[assetKey(ref.typ, strings.Join(parts[:len(parts)-2], "/"))]; p != nil {
			a, found, sub = cloneAsset(p), true, parts[len(parts)-2:]
		}
	})
	if !found {
		deliveryError(w, http.StatusNotFound, "Resource not found")
		return
	}
	i := slices.IndexFunc(a.Eager, func(e *Eager) bool { return e.Profile == profile })
	if i < 0 {
		deliveryError(w, http.StatusNotFound, "Resource not found")
		return
	}
	switch e := a.Eager[i]; e.Status {
	case "processing":
		// Cloudinary answers 423 while a video derivation is being made.
		deliveryError(w, http.StatusLocked, "Video is being processed")
		return
	case "failed":
		deliveryError(w, http.StatusNotFound, "Resource not found - "+e.Reason)
		return
	}
	dir := s.store.derivedDir(&a, profile)
	transformation := "sp_" + profile
	if sub == nil {
		s.serveFile(w, r, filepath.Join(dir, "master.m3u8"), ext, func(uri string) string {
			return s.deliveryPath(&a, transformation, a.PublicID+"/"+uri)
		})
		return
	}
	rendition, name := sub[0], sub[1]
	if !slices.ContainsFunc(a.Eager[i].Renditions, func(r Rendition) bool { return r.Name == rendition }) || !derivedFile.MatchString(name) {
		deliveryError(w, http.StatusNotFound, "Resource not found")
		return
	}
	var rewrite func(string) string
	if ext == ".m3u8" {
		rewrite = func(uri string) string {
			return s.deliveryPath(&a, transformation, a.PublicID+"/"+rendition+"/"+uri)
		}
	}
	s.serveFile(w, r, filepath.Join(dir, rendition, name), ext, rewrite)
}

// serveFile answers a file with byte ranges; a playlist (rewrite != nil)
// has each URI line replaced by rewrite(uri).
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, file, ext string, rewrite func(string) string) {
	f, err := os.Open(file)
	if err != nil {
		deliveryError(w, http.StatusNotFound, "Resource not found")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		deliveryError(w, http.StatusNotFound, "Resource not found")
		return
	}
	ct := contentTypes[ext]
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=2592000")
	if rewrite == nil {
		http.ServeContent(w, r, "", fi.ModTime(), f)
		return
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			line = rewrite(t)
		}
		out.WriteString(line + "\n")
	}
	http.ServeContent(w, r, "", fi.ModTime().Truncate(time.Second), bytes.NewReader(out.Bytes()))
}
