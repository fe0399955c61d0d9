//go:build !windows

package rpc

import (
	"slices"
	"testing"
)

func TestIPCPathOrder(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "TMPDIR": "/tmp/", "TEMP": "/var/tmp"}
	paths := ipcPaths(func(k string) string { return env[k] })
	if len(paths) != 3*5*10 { // /tmp/ and /tmp are one directory
		t.Fatalf("%d paths", len(paths))
	}
	want := []string{
		"/run/user/1000/discord-ipc-0",
		"/run/user/1000/discord-ipc-9",
		"/run/user/1000/app/com.discordapp.Discord/discord-ipc-0",
	}
	if paths[0] != want[0] || paths[9] != want[1] || paths[10] != want[2] {
		t.Fatalf("order: %v", paths[:12])
	}
	for _, p := range []string{"/run/user/1000/snap.discord/discord-ipc-3", "/tmp/discord-ipc-0", "/var/tmp/app/com.discordapp.DiscordCanary/discord-ipc-1"} {
		if !slices.Contains(paths, p) {
			t.Errorf("missing %s", p)
		}
	}
	if !slices.Contains(ipcPaths(func(string) string { return "" }), "/tmp/discord-ipc-0") {
		t.Error("no /tmp fallback")
	}
}
