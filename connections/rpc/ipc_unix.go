//go:build !windows

package rpc

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// ipcSubdirs are where sandboxed packages of the app put their sockets, relative to the
// runtime directory: the native app, Flatpak (stable and canary) and Snap (stable and canary).
var ipcSubdirs = []string{"", "app/com.discordapp.Discord", "app/com.discordapp.DiscordCanary", "snap.discord", "snap.discord-canary"}

// DefaultIPCPaths returns every socket path the app may listen on, in the order they are
// tried: for each base directory ($XDG_RUNTIME_DIR, $TMPDIR, $TMP, $TEMP, then /tmp) and each
// package subdirectory, discord-ipc-0 through discord-ipc-9.
func DefaultIPCPaths() []string { return ipcPaths(os.Getenv) }

func ipcPaths(getenv func(string) string) []string {
	var bases []string
	seen := map[string]bool{}
	for _, v := range []string{getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"), getenv("TMP"), getenv("TEMP"), "/tmp"} {
		if v == "" {
			continue
		}
		v = filepath.Clean(v)
		if !seen[v] {
			seen[v] = true
			bases = append(bases, v)
		}
	}
	var paths []string
	for _, b := range bases {
		for _, sub := range ipcSubdirs {
			for i := 0; i < 10; i++ {
				paths = append(paths, filepath.Join(b, sub, "discord-ipc-"+strconv.Itoa(i)))
			}
		}
	}
	return paths
}

func openIPC(ctx context.Context, path string) (io.ReadWriteCloser, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
