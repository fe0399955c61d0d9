//go:build windows

package rpc

import (
	"context"
	"io"
	"os"
	"strconv"
)

// DefaultIPCPaths returns the named pipes the app may listen on: \\?\pipe\discord-ipc-0
// through -9.
func DefaultIPCPaths() []string {
	paths := make([]string, 0, 10)
	for i := 0; i < 10; i++ {
		paths = append(paths, `\\?\pipe\discord-ipc-`+strconv.Itoa(i))
	}
	return paths
}

// openIPC opens a named pipe as a file. This needs no cgo and no extra module, but the
// pipe has no deadlines: a handshake bounded by ctx relies on the close that ctx triggers.
func openIPC(ctx context.Context, path string) (io.ReadWriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_RDWR, 0)
}
