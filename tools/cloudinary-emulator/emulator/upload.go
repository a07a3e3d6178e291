package emulator

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxFieldBytes bounds the non-file form fields of one request.
const maxFieldBytes = 1 << 20

// staleAfter is how long a signed request stays valid ("the signature is
// based on the timestamp and is valid for 1 hour").
const staleAfter = time.Hour

var (
	contentRange = regexp.MustCompile(`^bytes (\d+)-(\d+)/(\d+)$`)
	uploadIDRe   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	publicIDRe   = regexp.MustCompile(`^[A-Za-z0-9_\-./]{1,255}$`)
	deliveryType = map[string]bool{"upload": true, "authenticated": true, "private": true}
)

// request is one parsed upload request: its fields and, on disk, its file part.
type request struct {
	fields   map[string][]string
	file     string // temporary path of the file part ("" when none)
	size     int64
	filename string
}

func (q *request) get(k string) string {
	if v := q.fields[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// handleUpload is POST /v1_1/<cloud>/<resource_type>/upload. cloudinary-go
// posts every Upload to .../auto/upload with resource_type among the fields.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	q, err := s.readRequest(r)
	if q != nil && q.file != "" {
		defer os.Remove(q.file)
	}
	if err == nil {
		err = s.authenticate(r.PathValue("cloud"), q)
	}
	var result any
	if err == nil {
		result, err = s.upload(r, q)
	}
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		s.log.Info("upload refused", "status", ae.status, "message", ae.message)
		writeAPIError(w, ae)
	case err != nil:
		s.log.Error("upload failed", "err", err)
		writeAPIError(w, errorf(http.StatusInternalServerError, "General Error"))
	default:
		writeJSON(w, http.StatusOK, result)
	}
}

// readRequest streams the multipart body: fields into memory (bounded), the
// file part to a temporary file, whatever their order.
func (s *Server) readRequest(r *http.Request) (*request, error) {
	switch r.PathValue("resource") {
	case "video", "auto":
	case "image", "raw":
		return nil, errorf(http.StatusBadRequest, "The emulator stores videos only; resource type "+r.PathValue("resource")+" is not emulated")
	default:
		return nil, errorf(http.StatusNotFound, "Invalid resource type "+r.PathValue("resource"))
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, errorf(http.StatusBadRequest, "Missing required parameter - file")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "Malformed multipart body: "+err.Error())
	}
	q := &request{fields: map[string][]string{}}
	var fieldBytes int64
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return q, errorf(http.StatusBadRequest, "Malformed multipart body: "+err.Error())
		}
		name := p.FormName()
		if name == "file" && p.FileName() != "" {
			if q.file != "" {
				return q, errorf(http.StatusBadRequest, "Only one file may be uploaded")
			}
			f, err := os.CreateTemp(filepath.Join(s.cfg.DataDir, "tmp"), "part-")
			if err != nil {
				return q, err
			}
			q.file, q.filename = f.Name(), p.FileName()
			q.size, err = io.Copy(f, io.LimitReader(p, s.cfg.MaxFileSize+1))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return q, errorf(http.StatusBadRequest, "Upload interrupted: "+err.Error())
			}
			if q.size > s.cfg.MaxFileSize {
				return q, errorf(http.StatusBadRequest, fmt.Sprintf("File size too large. Got %d. Maximum is %d.", q.size, s.cfg.MaxFileSize))
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFieldBytes-fieldBytes+1))
		if err != nil {
			return q, errorf(http.StatusBadRequest, "Malformed multipart body: "+err.Error())
		}
		if fieldBytes += int64(len(v)); fieldBytes > maxFieldBytes {
			return q, errorf(http.StatusBadRequest, "Too many parameters")
		}
		q.fields[name] = append(q.fields[name], string(v))
	}
	if q.file == "" {
		if q.get("file") != "" {
			return q, errorf(http.StatusBadRequest, "The emulator accepts file uploads only, not remote URLs or data URIs")
		}
		return q, errorf(http.StatusBadRequest, "Missing required parameter - file")
	}
	return q, nil
}

// authenticate checks the account and the request signature as Cloudinary
// does: cloud name, api_key, timestamp within the hour, then the signature.
func (s *Server) authenticate(cloud string, q *request) error {
	if cloud != s.cfg.CloudName {
		return errorf(http.StatusUnauthorized, "Invalid cloud_name "+cloud)
	}
	key := q.get("api_key")
	switch {
	case key == "":
		return errorf(http.StatusUnauthorized, "Must supply api_key")
	case key != s.cfg.APIKey:
		return errorf(http.StatusUnauthorized, "Unknown API key "+key)
	}
	ts := q.get("timestamp")
	if ts == "" {
		return errorf(http.StatusBadRequest, "Missing required parameter - timestamp")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errorf(http.StatusBadRequest, "Invalid timestamp "+ts)
	}
	if reported := time.Unix(sec, 0).UTC(); s.cfg.Now().Sub(reported) > staleAfter {
		return errorf(http.StatusBadRequest, "Stale request - reported time is "+reported.Format("2006-01-02 15:04:05 -0700")+" which is more than 1 hour ago")
	}
	sig := q.get("signature")
	if sig == "" {
		return errorf(http.StatusBadRequest, "Missing required parameter - signature")
	}
	if ok, signed := validRequestSignature(q.fields, sig, s.cfg.APISecret, s.cfg.SignatureAlgorithm); !ok {
		return errorf(http.StatusUnauthorized, fmt.Sprintf("Invalid Signature %s. String to sign - '%s'.", sig, signed))
	}
	return nil
}

// upload takes one request: a whole file, or one chunk of a chunked upload
// (X-Unique-Upload-Id and Content-Range, as cloudinary-go sends files larger
// than its 20 MB chunk size).
func (s *Server) upload(r *http.Request, q *request) (any, error) {
	params, err := s.uploadParams(q)
	if err != nil {
		return nil, err
	}
	uploadID, rng := r.Header.Get("X-Unique-Upload-Id"), r.Header.Get("Content-Range")
	if uploadID == "" && rng == "" {
		return s.finish(q.file, q.size, q.filename, params)
	}
	if !uploadIDRe.MatchString(uploadID) {
		return nil, errorf(http.StatusBadRequest, "Invalid X-Unique-Upload-Id header")
	}
	m := contentRange.FindStringSubmatch(rng)
	if m == nil {
		return nil, errorf(http.StatusBadRequest, "Invalid Content-Range header "+strconv.Quote(rng))
	}
	from, _ := strconv.ParseInt(m[1], 10, 64)
	to, _ := strconv.ParseInt(m[2], 10, 64)
	total, _ := strconv.ParseInt(m[3], 10, 64)
	switch {
	case from > to || to >= total:
		return nil, errorf(http.StatusBadRequest, "Invalid Content-Range header "+strconv.Quote(rng))
	case to-from+1 != q.size:
		return nil, errorf(http.StatusBadRequest, fmt.Sprintf("Content-Range %s does not match the chunk's %d bytes", rng, q.size))
	case total > s.cfg.MaxFileSize:
		return nil, errorf(http.StatusBadRequest, fmt.Sprintf("File size too large. Got %d. Maximum is %d.", total, s.cfg.MaxFileSize))
	}
	if err := s.writeChunk(uploadID, q.file, from); err != nil {
		return nil, err
	}
	var done bool
	err = s.store.update(func(st *state) error {
		u := st.Uploads[uploadID]
		if u == nil {
			u = &chunkedUpload{ID: uploadID, Total: total, PublicID: params.publicID}
			st.Uploads[uploadID] = u
		}
		if u.Total != total {
			return errorf(http.StatusBadRequest, fmt.Sprintf("Content-Range total %d differs from the upload's %d", total, u.Total))
		}
		u.add(from, to)
		u.UpdatedAt = s.cfg.Now()
		if done = u.complete(); done {
			delete(st.Uploads, uploadID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !done {
		// pycloudinary's upload_large reads public_id from every non-final
		// answer; cloudinary-go keeps only the last one.
		return map[string]any{"done": false, "public_id": params.publicID, "bytes": to + 1}, nil
	}
	path := s.store.chunkPath(uploadID)
	defer os.Remove(path)
	return s.finish(path, total, q.filename, params)
}

// writeChunk copies the chunk into the upload's file at its offset.
func (s *Server) writeChunk(uploadID, part string, offset int64) error {
	src, err := os.Open(part)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(s.store.chunkPath(uploadID), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.NewOffsetWriter(dst, offset), src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// uploadParams are the fields the emulator acts on.
type uploadParams struct {
	publicID, typ   string
	eager           []string
	eagerAsync      bool
	notificationURL string
	overwrite       bool
}

func (s *Server) uploadParams(q *request) (uploadParams, error) {
	p := uploadParams{publicID: q.get("public_id"), typ: q.get("type"), overwrite: true}
	if folder := strings.Trim(q.get("folder"), "/"); folder != "" && p.publicID != "" {
		p.publicID = folder + "/" + p.publicID
	}
	if p.publicID == "" {
		p.publicID = randomHex(10)
	}
	if !publicIDRe.MatchString(p.publicID) || strings.Contains(p.publicID, "..") || strings.HasPrefix(p.publicID, "/") {
		return p, errorf(http.StatusBadRequest, "Invalid public_id "+strconv.Quote(p.publicID))
	}
	if p.typ == "" {
		p.typ = "upload"
	}
	if !deliveryType[p.typ] {
		return p, errorf(http.StatusBadRequest, "Invalid type "+strconv.Quote(p.typ))
	}
	if rt := q.get("resource_type"); rt != "" && rt != "video" && rt != "auto" {
		return p, errorf(http.StatusBadRequest, "The emulator stores videos only; resource type "+rt+" is not emulated")
	}
	p.eagerAsync = q.get("eager_async") == "true" || q.get("eager_async") == "1"
	p.notificationURL = q.get("eager_notification_url")
	if v := q.get("overwrite"); v == "false" || v == "0" {
		p.overwrite = false
	}
	if e := q.get("eager"); e != "" {
		for _, t := range strings.Split(e, "|") {
			if _, err := streamingProfile(t); err != nil {
				return p, err
			}
			p.eager = append(p.eager, t)
		}
	}
	return p, nil
}

// finish turns a whole file into an asset (a new version when the public id
// exists), queues its eager work and answers the upload result.
func (s *Server) finish(file string, size int64, filename string, p uploadParams) (any, error) {
	info, err := s.probe(file)
	if err != nil {
		return nil, err
	}
	etag, err := md5File(file)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	a := &Asset{
		PublicID: p.publicID, Type: p.typ, Format: info.format, Bytes: size, Etag: etag,
		Width: info.width, Height: info.height, Duration: info.duration, HasAudio: info.audio,
		OriginalFilename: strings.TrimSuffix(filepath.Base(filename), filepath.Ext(filename)),
		CreatedAt:        now.Truncate(time.Second), VersionID: randomHex(16), Version: now.Unix(),
	}
	for _, t := range p.eager {
		prof, _ := streamingProfile(t)
		a.Eager = append(a.Eager, &Eager{Transformation: t, Profile: prof, Status: "processing"})
	}
	if len(a.Eager) > 0 {
		a.BatchID, a.EagerAsync, a.NotificationURL = randomHex(32), p.eagerAsync, p.notificationURL
	}
	key := assetKey(p.typ, p.publicID)
	var old *Asset
	var untouched map[string]any
	err = s.store.update(func(st *state) error {
		if prev := st.Assets[key]; prev != nil {
			if !p.overwrite {
				// Cloudinary answers the existing asset, untouched.
				untouched = s.uploadResult(prev, false)
				return nil
			}
			a.AssetID = prev.AssetID
			a.Version = max(a.Version, prev.Version+1)
			old = prev
		} else {
			a.AssetID = randomHex(16)
		}
		dst := s.store.originalPath(a)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := os.Rename(file, dst); err != nil {
			return err
		}
		st.Assets[key] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if untouched != nil {
		return untouched, nil
	}
	if old != nil && old.Version != a.Version {
		os.RemoveAll(filepath.Join(s.store.assetDir(old.AssetID), fmt.Sprintf("v%d", old.Version)))
	}
	if len(a.Eager) > 0 {
		if p.eagerAsync {
			s.jobs <- key
		} else {
			s.runEager(key) // synchronous eager: answered with the renditions
		}
	}
	var res map[string]any
	s.store.view(func(st *state) { res = s.uploadResult(st.Assets[key], old != nil) })
	return res, nil
}

// uploadResult is the upload answer for a video (the fields of
// cloudinary-go's uploader.UploadResult, plus duration and playback_url).
func (s *Server) uploadResult(a *Asset, overwritten bool) map[string]any {
	file := a.PublicID + "." + a.Format
	eager := []map[string]any{}
	for _, e := range a.Eager {
		eager = append(eager, s.eagerEntry(a, e))
	}
	version := strconv.FormatInt(a.Version, 10)
	return map[string]any{
		"asset_id": a.AssetID, "public_id": a.PublicID, "version": a.Version, "version_id": a.VersionID,
		"signature": responseSignature(a.PublicID, version, s.cfg.APISecret, s.cfg.SignatureAlgorithm),
		"width":     a.Width, "height": a.Height, "format": a.Format, "resource_type": "video",
		"created_at": a.CreatedAt.Format(time.RFC3339), "tags": []string{}, "pages": 0, "bytes": a.Bytes,
		"type": a.Type, "etag": a.Etag, "placeholder": false,
		"url": s.deliveryURL(a, "", file), "secure_url": s.deliveryURL(a, "", file),
		"playback_url": s.deliveryURL(a, "sp_auto", a.PublicID+".m3u8"),
		"access_mode":  "public", "overwritten": overwritten, "original_filename": a.OriginalFilename,
		"asset_folder": "", "display_name": a.PublicID[strings.LastIndex(a.PublicID, "/")+1:],
		"duration": a.Duration, "is_audio": false, "api_key": s.cfg.APIKey, "eager": eager,
	}
}

func md5File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
