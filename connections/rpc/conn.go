package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one live connection to the app, on either transport.
type conn interface {
	// read returns the next RPC payload. IPC pings are answered inside; a close from the app
	// is a *CloseError.
	read() (payload, error)
	// write sends one payload; safe for concurrent use.
	write(b []byte) error
	// close ends the connection; safe to call more than once and concurrently with read.
	close() error
	transport() Transport
	endpoint() string
}

// writeTimeout bounds one write. The peer is on the same machine, so a write that takes this
// long means the app is wedged.
const writeTimeout = 10 * time.Second

// ipcConn speaks the framed protocol over a Unix socket or a Windows pipe.
type ipcConn struct {
	rw        io.ReadWriteCloser
	path      string
	max       int
	wmu       sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

func (c *ipcConn) writeFrame(op Op, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if d, ok := c.rw.(writeDeadliner); ok {
		_ = d.SetWriteDeadline(time.Now().Add(writeTimeout))
	}
	_, err := c.rw.Write(AppendFrame(make([]byte, 0, frameHeaderSize+len(b)), op, b))
	return err
}

func (c *ipcConn) write(b []byte) error { return c.writeFrame(OpFrame, b) }

// closeFrameData is the body of an IPC close frame.
type closeFrameData struct {
	Code    CloseCode `json:"code"`
	Message string    `json:"message"`
}

func (c *ipcConn) read() (payload, error) {
	for {
		op, b, err := ReadFrame(c.rw, c.max)
		if err != nil {
			return payload{}, err
		}
		switch op {
		case OpFrame:
			return decodePayload(b)
		case OpPing:
			if err := c.writeFrame(OpPong, b); err != nil {
				return payload{}, err
			}
		case OpPong:
		case OpClose:
			var d closeFrameData
			if err := json.Unmarshal(b, &d); err != nil {
				d = closeFrameData{Code: CloseAbnormal, Message: "undecodable close frame"}
			}
			return payload{}, &CloseError{Code: d.Code, Reason: d.Message, Transport: IPC}
		default: // OpHandshake: only the client sends one
			return payload{}, fmt.Errorf("%w: unexpected %v frame from the app", ErrBadFrame, op)
		}
	}
}

func (c *ipcConn) close() error {
	c.closeOnce.Do(func() { c.closeErr = c.rw.Close() })
	return c.closeErr
}

func (c *ipcConn) transport() Transport { return IPC }
func (c *ipcConn) endpoint() string     { return c.path }

// dialIPCConn opens the socket at path and sends the handshake frame.
func dialIPCConn(ctx context.Context, path, clientID string, max int) (*ipcConn, error) {
	rw, err := openIPC(ctx, path)
	if err != nil {
		return nil, err
	}
	c := &ipcConn{rw: rw, path: path, max: max}
	hs, _ := json.Marshal(struct {
		V        int    `json:"v"`
		ClientID string `json:"client_id"`
	}{1, clientID})
	if err := c.writeFrame(OpHandshake, hs); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// wsConn speaks JSON text messages over the app's local websocket.
type wsConn struct {
	ws        *websocket.Conn
	url       string
	wmu       sync.Mutex
	closeOnce sync.Once
}

func (c *wsConn) read() (payload, error) {
	_, msg, err := c.ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return payload{}, &CloseError{Code: CloseCode(ce.Code), Reason: ce.Text, Transport: Websocket}
		}
		if errors.Is(err, websocket.ErrReadLimit) {
			return payload{}, fmt.Errorf("%w: websocket message over the limit", ErrFrameTooLarge)
		}
		return payload{}, err
	}
	return decodePayload(msg)
}

func (c *wsConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *wsConn) close() error {
	var err error
	c.closeOnce.Do(func() {
		// A close frame first, so the app sees a clean goodbye; the socket closes either way.
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		err = c.ws.Close()
	})
	return err
}

func (c *wsConn) transport() Transport { return Websocket }
func (c *wsConn) endpoint() string     { return c.url }

// wsURL is the app's websocket address for port, as the docs give it.
func wsURL(port int, clientID string) string {
	q := url.Values{"v": {"1"}, "client_id": {clientID}, "encoding": {"json"}}
	return "ws://127.0.0.1:" + strconv.Itoa(port) + "/?" + q.Encode()
}

func dialWSConn(ctx context.Context, port int, clientID, origin string, max int, timeout time.Duration) (*wsConn, error) {
	u := wsURL(port, clientID)
	d := websocket.Dialer{HandshakeTimeout: timeout, NetDialContext: (&net.Dialer{}).DialContext}
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, resp, err := d.DialContext(ctx, u, h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(int64(max))
	return &wsConn{ws: ws, url: u}, nil
}
