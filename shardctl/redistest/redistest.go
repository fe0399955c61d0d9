// Package redistest starts a real redis-server for tests: on 127.0.0.1, on a free port, in a
// temporary directory, with persistence off, and kills it when the test ends.
//
// The tests of shardctl's Redis pieces run against a real server rather than a fake, so that
// TTLs, scripts and connection failures behave as they do in production. When the redis-server
// binary is missing, Start skips the test with a message saying how to install it, except under
// CI=true, where it fails: CI must not pass by skipping.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a fresh redis-server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process owned by a test.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int

	mu        sync.Mutex
	cmd       *exec.Cmd
	cmdExited chan error
	log       *os.File
}

// Binary returns the path of redis-server, or an error saying how to install it.
func Binary() (string, error) {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server not found in PATH (install it: apt-get install -y redis-server): %w", err)
	}
	return p, nil
}

// Require skips tb (fails it under CI=true) when redis-server is not installed.
func Require(tb testing.TB) string {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true and %v", err)
		}
		tb.Skipf("skipping: %v", err)
	}
	return bin
}

// Start runs a redis-server on a free 127.0.0.1 port and registers its end with tb.Cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Require(tb), dir: tb.TempDir()}
	var err error
	// Picking a free port and then binding it is racy; try a few ports before giving up.
	for range 5 {
		s.port, err = freePort()
		if err != nil {
			continue
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Kill)
	return s
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--loglevel", "warning")
	// Files, not pipes: exec then needs no copying goroutines, and the log survives for a
	// failing test to read.
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitReady(s.Addr(), exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		logf.Close()
		out, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
		return fmt.Errorf("redis-server on port %d: %w\n%s", s.port, err, out)
	}
	s.cmd, s.log = cmd, logf
	s.cmdExited = exited
	return nil
}

func waitReady(addr string, exited <-chan error) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, Protocol: 2})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before it answered: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING within %v: %w", startTimeout, err)
		}
		time.Sleep(5 * time.Millisecond) // polling for readiness, not timing a rule
	}
}

// Addr returns host:port of the server (the same across Restart).
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Options returns client options for the server, with short timeouts and no retries so that a
// killed server shows up at once as an error.
func (s *Server) Options() *redis.Options {
	return &redis.Options{
		Addr: s.Addr(), Protocol: 2,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: -1, PoolSize: 8,
	}
}

// Client returns a new client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(s.Options())
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// Kill ends the server with SIGKILL (no shutdown, nothing saved) and waits for it. Safe to call
// when it is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.cmdExited
	s.log.Close()
	s.cmd, s.log, s.cmdExited = nil, nil, nil
}

// Restart starts a killed server again on the same port, with an empty data set.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
}
