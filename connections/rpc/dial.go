package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
)

// endpoint is one place the app may be listening.
type endpoint struct {
	t    Transport
	path string // IPC
	port int    // Websocket
}

func (c *Client) endpoints() []endpoint {
	var eps []endpoint
	for _, t := range c.cfg.transports {
		switch t {
		case IPC:
			paths := c.cfg.ipcPaths
			if paths == nil {
				paths = DefaultIPCPaths()
			}
			for _, p := range paths {
				eps = append(eps, endpoint{t: IPC, path: p})
			}
		case Websocket:
			for _, p := range c.cfg.ports {
				eps = append(eps, endpoint{t: Websocket, port: p})
			}
		}
	}
	return eps
}

// connect tries every endpoint in order and returns the first that completes the handshake,
// with its reader started. An endpoint that refuses at the socket level (nothing there, not
// the app) is skipped; one where the app answers with a close or an error ends the search,
// because that answer is the app's.
func (c *Client) connect(ctx context.Context) (*session, *Ready, error) {
	eps := c.endpoints()
	var last error
	for _, ep := range eps {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		cn, rd, answered, err := c.connectOne(ctx, ep)
		if err == nil {
			s := c.startSession(cn)
			return s, &Ready{ReadyData: *rd, Transport: cn.transport(), Endpoint: cn.endpoint()}, nil
		}
		if answered {
			return nil, nil, err
		}
		last = err
		if ce := c.log.Check(zap.DebugLevel, "endpoint did not answer"); ce != nil {
			ce.Write(zap.Stringer("transport", ep.t), zap.String("path", ep.path), zap.Int("port", ep.port), zap.Error(err))
		}
	}
	if last == nil {
		return nil, nil, fmt.Errorf("%w: no endpoints to try", ErrNoDiscord)
	}
	return nil, nil, fmt.Errorf("%w (%d endpoints tried; last: %v)", ErrNoDiscord, len(eps), last)
}

// connectOne dials one endpoint and waits for READY. answered reports whether the app itself
// refused (a close frame or an ERROR), as opposed to nobody being there.
func (c *Client) connectOne(ctx context.Context, ep endpoint) (conn, *ReadyData, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.dialTimeout)
	defer cancel()
	var cn conn
	var err error
	switch ep.t {
	case IPC:
		cn, err = dialIPCConn(ctx, ep.path, c.clientID, c.cfg.maxFrame)
	default:
		cn, err = dialWSConn(ctx, ep.port, c.clientID, c.cfg.origin, c.cfg.maxFrame, c.cfg.dialTimeout)
	}
	if err != nil {
		return nil, nil, false, err
	}
	// The read below has no deadline of its own on every transport: closing the connection
	// when ctx ends is what bounds it.
	stop := context.AfterFunc(ctx, func() { cn.close() })
	p, err := cn.read()
	if !stop() {
		cn.close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, nil, false, fmt.Errorf("rpc: %v handshake at %s: %w", ep.t, cn.endpoint(), err)
	}
	if err != nil {
		cn.close()
		var ce *CloseError
		answered := errors.As(err, &ce)
		return nil, nil, answered, err
	}
	if p.Evt == EventError {
		cn.close()
		return nil, nil, true, p.asError()
	}
	if p.Cmd != cmdDispatch || p.Evt != EventReady {
		cn.close()
		return nil, nil, false, fmt.Errorf("%w: expected READY, got %s %s", ErrBadPayload, p.Cmd, p.Evt)
	}
	var rd ReadyData
	if err := json.Unmarshal(p.Data, &rd); err != nil {
		cn.close()
		return nil, nil, false, fmt.Errorf("%w: READY: %v", ErrBadPayload, err)
	}
	return cn, &rd, false, nil
}

// sleep waits d on k, or until done; false if done came first.
func sleep(k clock.Clock, d time.Duration, done <-chan struct{}) bool {
	return clock.Sleep(k, d, done)
}
