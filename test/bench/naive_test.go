package bench

import (
	"bufio"
	"compress/zlib"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/events"
)

// The naive pipeline of perf.md, the baseline every target is a ratio against: gorilla with its
// default dialer, compress/zlib over the whole stream, encoding/json for the envelope and a
// freshly allocated *naiveEvent per dispatch on a buffered channel. It is what a first working
// client looks like, with no tuning at all. It speaks just enough gateway for the benchmark:
// Hello, Identify, heartbeats.

type naiveEvent struct {
	Op    int
	Seq   int64
	Type  string
	Data  []byte
	Shard int
}

type naiveEnvelope struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  int64           `json:"s"`
	T  string          `json:"t"`
}

// msgSource is an io.Reader over the websocket's messages: it hands out the current message and
// blocks in NextReader for the next one only when the current one is drained, so no message is
// held back waiting for the one after it.
type msgSource struct {
	ws  *websocket.Conn
	cur io.Reader
}

func (m *msgSource) Read(p []byte) (int, error) {
	for {
		if m.cur != nil {
			n, err := m.cur.Read(p)
			if err == io.EOF {
				m.cur = nil
				if n > 0 {
					return n, nil
				}
				continue
			}
			return n, err
		}
		_, r, err := m.ws.NextReader()
		if err != nil {
			return 0, err
		}
		m.cur = r
	}
}

type naiveClient struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	stop chan struct{}
	wg   sync.WaitGroup
}

// dialNaive connects one shard and runs it; every dispatch goes to out.
func dialNaive(gatewayURL, token string, shard, count int, out chan<- *naiveEvent, dial netDial) (*naiveClient, error) {
	ws, resp, err := withNetDial(websocket.DefaultDialer, dial).Dial(gatewayURL+"?v=10&encoding=json&compress=zlib-stream", nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	zr, err := zlib.NewReader(bufio.NewReader(&msgSource{ws: ws}))
	if err != nil {
		ws.Close()
		return nil, err
	}
	dec := json.NewDecoder(zr)
	var hello naiveEnvelope
	if err := dec.Decode(&hello); err != nil {
		ws.Close()
		return nil, err
	}
	var h struct {
		HeartbeatInterval int64 `json:"heartbeat_interval"`
	}
	if err := json.Unmarshal(hello.D, &h); err != nil || h.HeartbeatInterval <= 0 {
		ws.Close()
		return nil, errors.New("naive: bad hello")
	}
	c := &naiveClient{ws: ws, stop: make(chan struct{})}
	id := map[string]any{"op": 2, "d": map[string]any{
		"token": token, "intents": uint64(events.IntentsAll), "shard": []int{shard, count},
		"properties": map[string]string{"os": "linux", "browser": "naive", "device": "naive"},
	}}
	if err := c.write(id); err != nil {
		ws.Close()
		return nil, err
	}
	var seq int64
	var seqMu sync.Mutex
	c.wg.Go(func() {
		t := time.NewTicker(time.Duration(h.HeartbeatInterval) * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				seqMu.Lock()
				s := seq
				seqMu.Unlock()
				if c.write(map[string]any{"op": 1, "d": s}) != nil {
					return
				}
			}
		}
	})
	c.wg.Go(func() {
		for {
			var env naiveEnvelope
			if err := dec.Decode(&env); err != nil {
				return
			}
			if env.Op != 0 {
				continue
			}
			seqMu.Lock()
			seq = env.S
			seqMu.Unlock()
			select {
			case out <- &naiveEvent{Op: env.Op, Seq: env.S, Type: env.T, Data: env.D, Shard: shard}:
			case <-c.stop:
				return
			}
		}
	})
	return c, nil
}

func (c *naiveClient) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteJSON(v)
}

func (c *naiveClient) close() {
	close(c.stop)
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.ws.Close()
	c.wg.Wait()
}
