package main

import "path/filepath"

// mediaApp is the app id of the media service.
const mediaApp = "media"

// appEnvs is, per app id, what devstack adds to the apps' environments: the
// Midtrans emulator's URL for payment (when it runs), what media's
// Cloudinary backend needs (more: cloudinaryAppEnv) and media's directory
// under the data directory (uploads and HLS files survive restarts and go
// with `make reset`).
func appEnvs(data string, emulated bool, more ...map[string][]string) map[string][]string {
	env := map[string][]string{mediaApp: {"MEDIA_DIR=" + filepath.Join(data, "media")}}
	for _, m := range append([]map[string][]string{midtransAppEnv(emulated)}, more...) {
		for app, vars := range m {
			env[app] = append(env[app], vars...)
		}
	}
	return env
}
