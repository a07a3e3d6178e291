package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FailEagerMarker in a public id makes its eager job fail (for tests of a
// client's failure path); the notification says why.
const FailEagerMarker = "fail-eager"

// profileHeights are the top rungs of Cloudinary's predefined streaming
// profiles that the emulator makes (a smaller ladder than Cloudinary's, same
// ceilings); auto follows the source up to 1080p. A rung above the source's
// height is left out: never upscale.
var profileHeights = map[string][]int{
	"sd":           {360},
	"hd":           {360, 720},
	"hd_lean":      {360, 720},
	"full_hd":      {360, 720, 1080},
	"full_hd_wifi": {360, 720, 1080},
	"full_hd_lean": {360, 720, 1080},
	"4k":           {360, 720, 1080, 2160},
	"auto":         {360, 720, 1080},
}

// videoBitrate per rung height, in kbit/s.
var videoBitrate = map[int]int{360: 800, 720: 2800, 1080: 5000, 2160: 16000}

// streamingProfile reads an eager transformation: only adaptive streaming
// (sp_<profile>/m3u8) is emulated.
func streamingProfile(t string) (string, error) {
	sp, format, ok := strings.Cut(t, "/")
	if !ok || !strings.HasPrefix(sp, "sp_") || format != "m3u8" {
		return "", errorf(http.StatusBadRequest, "The emulator makes only adaptive streaming eager transformations (sp_<profile>/m3u8), not "+strconv.Quote(t))
	}
	p := strings.TrimPrefix(sp, "sp_")
	if _, ok := profileHeights[p]; !ok {
		return "", errorf(http.StatusBadRequest, "Invalid streaming profile "+p)
	}
	return p, nil
}

// ladder is what profile makes of a srcW x srcH source.
func ladder(profile string, srcW, srcH int) []Rendition {
	var out []Rendition
	add := func(h int) {
		w := (srcW*h/srcH + 1) &^ 1 // even, as libx264 needs
		out = append(out, Rendition{Name: fmt.Sprintf("%dp", h), Width: w, Height: h})
	}
	for _, h := range profileHeights[profile] {
		if h <= srcH {
			add(h)
		}
	}
	if len(out) == 0 {
		add(srcH &^ 1)
	}
	return out
}

// worker makes the eager transformations queued by uploads, one at a time.
func (s *Server) worker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case key := <-s.jobs:
			s.runEager(key)
		}
	}
}

// runEager makes every pending eager transformation of the asset, records
// the outcome and, for an asynchronous batch, sends the notification.
func (s *Server) runEager(key string) {
	var a Asset
	var found bool
	s.store.view(func(st *state) {
		if p := st.Assets[key]; p != nil {
			a, found = cloneAsset(p), true
		}
	})
	if !found {
		return
	}
	for i, e := range a.Eager {
		if e.Status != "processing" {
			continue
		}
		renditions, size, terr := s.transcode(&a, e.Profile)
		if s.ctx.Err() != nil {
			return // stopped: the job resumes on the next start
		}
		err := s.store.update(func(st *state) error {
			cur := st.Assets[key]
			if cur == nil || cur.AssetID != a.AssetID || cur.Version != a.Version {
				return errors.New("replaced while transcoding")
			}
			ce := cur.Eager[i]
			if terr != nil {
				ce.Status, ce.Reason = "failed", terr.Error()
			} else {
				ce.Status, ce.Renditions, ce.Bytes = "complete", renditions, size
			}
			return nil
		})
		if err != nil {
			s.log.Info("eager result dropped", "asset", key, "err", err)
			return
		}
	}
	s.log.Info("eager done", "asset", key)
	if a.EagerAsync && a.NotificationURL != "" {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.notify(key, s.cfg.NotificationRetries)
		}()
	}
}

// transcode makes the HLS ladder of profile from the asset's original with
// one decode, keyframes every 2 s in every rendition (aligned segments),
// into a temporary directory renamed into place when complete.
func (s *Server) transcode(a *Asset, profile string) ([]Rendition, int64, error) {
	if strings.Contains(a.PublicID, FailEagerMarker) {
		return nil, 0, fmt.Errorf("Emulated eager failure (public_id contains %q)", FailEagerMarker)
	}
	dst := s.store.derivedDir(a, profile)
	if fi, err := os.Stat(filepath.Join(dst, "master.m3u8")); err == nil {
		return ladder(profile, a.Width, a.Height), fi.Size(), nil // made before a restart
	}
	tmp := dst + ".tmp"
	os.RemoveAll(tmp)
	rs := ladder(profile, a.Width, a.Height)
	var filter strings.Builder
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", s.store.originalPath(a)}
	if len(rs) == 1 {
		fmt.Fprintf(&filter, "[0:v]scale=%d:%d[v0]", rs[0].Width, rs[0].Height)
	} else {
		fmt.Fprintf(&filter, "[0:v]split=%d", len(rs))
		for i := range rs {
			fmt.Fprintf(&filter, "[s%d]", i)
		}
		for i, r := range rs {
			fmt.Fprintf(&filter, ";[s%d]scale=%d:%d[v%d]", i, r.Width, r.Height, i)
		}
	}
	args = append(args, "-filter_complex", filter.String())
	var streams []string
	for i, r := range rs {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i))
		if a.HasAudio {
			args = append(args, "-map", "0:a:0")
			streams = append(streams, fmt.Sprintf("v:%d,a:%d,name:%s", i, i, r.Name))
		} else {
			streams = append(streams, fmt.Sprintf("v:%d,name:%s", i, r.Name))
		}
		kbps := videoBitrate[r.Height]
		if kbps == 0 {
			kbps = 600
		}
		args = append(args, fmt.Sprintf("-b:v:%d", i), fmt.Sprintf("%dk", kbps),
			fmt.Sprintf("-maxrate:v:%d", i), fmt.Sprintf("%dk", kbps*107/100),
			fmt.Sprintf("-bufsize:v:%d", i), fmt.Sprintf("%dk", kbps*2))
	}
	args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
		"-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*2)")
	if a.HasAudio {
		args = append(args, "-c:a", "aac", "-b:a", "128k", "-ac", "2")
	}
	args = append(args, "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
		"-hls_flags", "independent_segments",
		"-hls_segment_filename", filepath.Join(tmp, "%v", "seg_%03d.ts"),
		"-master_pl_name", "master.m3u8", "-var_stream_map", strings.Join(streams, " "),
		filepath.Join(tmp, "%v", "index.m3u8"))
	cmd := exec.CommandContext(s.ctx, s.cfg.FFmpeg, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(tmp)
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, 0, fmt.Errorf("Video processing failed: %v: %s", err, msg)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, 0, err
	}
	fi, err := os.Stat(filepath.Join(dst, "master.m3u8"))
	if err != nil {
		return nil, 0, err
	}
	return rs, fi.Size(), nil
}

// eagerEntry is one element of "eager" in the upload answer and in the
// notification.
func (s *Server) eagerEntry(a *Asset, e *Eager) map[string]any {
	m := map[string]any{"transformation": e.Transformation, "status": e.Status, "format": "m3u8"}
	u := s.deliveryURL(a, "sp_"+e.Profile, a.PublicID+".m3u8")
	switch e.Status {
	case "processing":
		m["batch_id"], m["url"], m["secure_url"] = a.BatchID, u, u
	case "complete":
		top := e.Renditions[len(e.Renditions)-1]
		m["width"], m["height"], m["bytes"], m["url"], m["secure_url"] = top.Width, top.Height, e.Bytes, u, u
	case "failed":
		m["reason"] = e.Reason
	}
	return m
}

// notification is the eager notification body (notification_type eager).
func (s *Server) notification(a *Asset) []byte {
	eager := []map[string]any{}
	for _, e := range a.Eager {
		eager = append(eager, s.eagerEntry(a, e))
	}
	body, _ := json.Marshal(map[string]any{
		"notification_type": "eager", "eager": eager, "batch_id": a.BatchID,
		"asset_id": a.AssetID, "public_id": a.PublicID, "version": a.Version,
		"resource_type": "video", "type": a.Type, "api_key": s.cfg.APIKey,
		"notification_context": map[string]any{
			"triggered_at": s.cfg.Now().UTC().Format(time.RFC3339Nano),
			"triggered_by": map[string]string{"source": "api", "id": s.cfg.APIKey},
		},
		"signature_key": s.cfg.APIKey,
	})
	return body
}

// notify POSTs the asset's eager notification, signed, and retries after
// each delay while the answer is not 200 (Cloudinary retries "when the
// subscriber response is not HTTP 200").
func (s *Server) notify(key string, retries []time.Duration) []Notification {
	var a Asset
	var found bool
	s.store.view(func(st *state) {
		if p := st.Assets[key]; p != nil {
			a, found = cloneAsset(p), true
		}
	})
	if !found || a.NotificationURL == "" {
		return nil
	}
	body := s.notification(&a)
	var sent []Notification
	for attempt := 0; ; attempt++ {
		n := s.post(a.NotificationURL, body)
		sent = append(sent, n)
		_ = s.store.update(func(st *state) error {
			if cur := st.Assets[key]; cur != nil && cur.AssetID == a.AssetID {
				cur.Notifications = append(cur.Notifications, n)
			}
			return nil
		})
		s.log.Info("eager notification", "asset", key, "url", n.URL, "status", n.Status, "err", n.Error)
		if n.Status == http.StatusOK || attempt >= len(retries) {
			return sent
		}
		select {
		case <-s.ctx.Done():
			return sent
		case <-time.After(retries[attempt]):
		}
	}
}

func (s *Server) post(url string, body []byte) Notification {
	n := Notification{At: s.cfg.Now().UTC(), URL: url}
	ts := strconv.FormatInt(s.cfg.Now().Unix(), 10)
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		n.Error = err.Error()
		return n
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Cloudinary")
	req.Header.Set("X-Cld-Timestamp", ts)
	req.Header.Set("X-Cld-Signature", notificationSignature(body, ts, s.cfg.APISecret, s.cfg.SignatureAlgorithm))
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		n.Error = err.Error()
		return n
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	n.Status = resp.StatusCode
	return n
}
