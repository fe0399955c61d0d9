package rpc

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/events"
)

// Client is a connection to the Discord desktop app's RPC server that survives app restarts.
// Every method is safe for concurrent use.
type Client struct {
	clientID  string
	cfg       *config
	log       *zap.Logger
	out       chan<- Event
	defaults  defaults
	exchanger TokenExchanger

	ctx    context.Context // the client's life; cancelled by Close or the caller's ctx
	cancel context.CancelFunc
	wg     sync.WaitGroup // the run goroutine
	tasks  sync.WaitGroup // readers and the deliverer, owned by run
	done   chan struct{}
	queue  chan Event
	// stopped closes when run gives up on its own; the deliverer then hands out what is
	// queued (a fatal close's last events) before Done closes.
	stopped chan struct{}

	noncePrefix string
	nonceSeq    atomic.Uint64
	reconnects  atomic.Int64
	delivered   atomic.Int64

	// restoreMu lets a reconnect snapshot what to restore while no command is between its
	// answer and its bookkeeping: commands hold it shared, the restore holds it alone.
	restoreMu sync.RWMutex

	mu          sync.Mutex
	sess        *session
	up          chan struct{} // closed once sess is set; replaced when it drops
	ready       ReadyData
	transport   Transport
	endpoint    string
	subs        []Subscription
	token       *secret
	activity    *Activity
	activityPID int
	activitySet bool
	err         error
}

// session is one connection and the commands waiting on it.
type session struct {
	c       conn
	mu      sync.Mutex
	pending map[string]chan reply // nil once the reader has stopped
	dead    chan struct{}         // closed when the reader has stopped
	err     error                 // why it stopped; set before dead closes

	// Dispatches that arrive before the session's Ready was sent (during a restore) are held,
	// so that out always shows Ready first.
	emitMu sync.Mutex
	open   bool
	held   []Event
}

type reply struct {
	data json.RawMessage
	err  error
}

// Dial connects to the desktop app: it tries each endpoint (IPC sockets, then the websocket
// ports, unless options say otherwise) and keeps the first that answers with READY. ctx
// bounds the client's whole life, not just the dial: cancelling it is Close.
//
// Dial fails with ErrNoDiscord when nothing answered, with a *CloseError or *Error when the
// app answered but refused (a wrong client id, say), and with ErrInvalidOption for bad
// options. Once connected, the client reconnects by itself whenever the connection drops.
//
// Events go to out, which the client never closes; the first is the Ready of this
// connection. The caller must keep reading out (see WithEventBuffer).
func Dial(ctx context.Context, clientID string, out chan<- Event, opts ...Option) (*Client, error) {
	if _, err := events.ParseSnowflake(clientID); err != nil || clientID == "0" {
		return nil, fmt.Errorf("%w: client id %q is not an application id", ErrInvalidOption, clientID)
	}
	if out == nil {
		return nil, fmt.Errorf("%w: nil out channel", ErrInvalidOption)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		clientID: clientID,
		cfg:      cfg,
		log:      cfg.log.Named("rpc").With(zap.String("client_id", clientID)),
		out:      out,
		defaults: defaults{clientID: clientID, pid: cfg.pid},
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
		queue:    make(chan Event, cfg.eventBuffer),
		up:       make(chan struct{}),
	}
	c.exchanger = cfg.exchanger
	if c.exchanger == nil {
		c.exchanger = HTTPTokenExchanger{APIBase: cfg.apiBase, Client: cfg.httpClient}
	}
	var seed [6]byte
	_, _ = crand.Read(seed[:])
	c.noncePrefix = hex.EncodeToString(seed[:]) + "-"
	c.ctx, c.cancel = context.WithCancel(ctx)

	s, ready, err := c.connect(c.ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.tasks.Go(c.deliver)
	c.wg.Go(func() { c.run(s, ready) })
	return c, nil
}

// Done is closed once the client has stopped and every goroutine it started has returned.
// When the client stops by itself (a fatal close code, WithMaxReconnects), the events it
// queued before are handed to out first, so the caller sees the last Disconnected or
// ErrorEvent; after Close or ctx cancellation they are dropped.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the client stopped: nil after Close or ctx cancellation, a *CloseError for a
// fatal close code, an error wrapping ErrGaveUp after WithMaxReconnects. Nil while running.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Wait blocks until the client stops and returns Err.
func (c *Client) Wait() error {
	<-c.done
	return c.Err()
}

// Close disconnects, waits for every goroutine to return, and returns Err. It may be called
// more than once, and from the goroutine that reads out.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	<-c.done
	return c.Err()
}

// ReadyData returns the READY data of the current (or last) connection: the app's config and
// the logged-in user.
func (c *Client) ReadyData() ReadyData {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

// Stats is a snapshot of the client's state.
type Stats struct {
	Connected  bool      // a connection is up and ready for commands
	Transport  Transport // of the current (or last) connection
	Endpoint   string
	Reconnects int64 // successful reconnects since Dial
	Delivered  int64 // events handed to out
	Queued     int   // events waiting between the reader and out; at WithEventBuffer the reader waits
}

// Stats returns a snapshot; cheap enough to call on every tick.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	st := Stats{Connected: c.sess != nil, Transport: c.transport, Endpoint: c.endpoint}
	c.mu.Unlock()
	st.Reconnects = c.reconnects.Load()
	st.Delivered = c.delivered.Load()
	st.Queued = len(c.queue)
	return st
}

// Subscriptions returns what the client will subscribe to again after a reconnect.
func (c *Client) Subscriptions() []Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Subscription(nil), c.subs...)
}

// Do sends cmd and waits for the app's answer, matched by nonce, and returns its data (nil
// for null). While the client is reconnecting, Do waits for the next connection, bounded by
// ctx. An ERROR answer is an *Error; a connection that drops first gives ErrConnectionLost.
func (c *Client) Do(ctx context.Context, cmd Command) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil { // never send what the caller already gave up on
		return nil, err
	}
	nonce := c.noncePrefix + strconv.FormatUint(c.nonceSeq.Add(1), 10)
	b, name, _, err := encodeCommand(cmd, c.defaults, nonce)
	if err != nil {
		return nil, err
	}
	for {
		s, err := c.session(ctx)
		if err != nil {
			return nil, err
		}
		c.restoreMu.RLock()
		c.mu.Lock()
		current := c.sess == s
		c.mu.Unlock()
		if !current { // replaced between the two looks: take the new one
			c.restoreMu.RUnlock()
			continue
		}
		if ce := c.log.Check(zap.DebugLevel, "command"); ce != nil {
			ce.Write(zap.String("cmd", name), zap.String("nonce", nonce))
		}
		data, err := s.call(ctx, b, nonce)
		if err == nil {
			c.record(cmd)
		}
		c.restoreMu.RUnlock()
		return data, err
	}
}

// session waits for a live connection.
func (c *Client) session(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		s, up, stopErr := c.sess, c.up, c.err
		c.mu.Unlock()
		if s != nil {
			return s, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			if stopErr == nil {
				stopErr = c.Err()
			}
			return nil, closedError(stopErr)
		}
	}
}

// closedError is ErrClosed, joined with why the client stopped if it stopped on its own.
func closedError(cause error) error {
	if cause == nil {
		return ErrClosed
	}
	return errors.Join(ErrClosed, cause)
}

// record keeps what a reconnect must restore.
func (c *Client) record(cmd Command) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch cmd := cmd.(type) {
	case Authenticate:
		c.token = &secret{cmd.AccessToken}
	case Subscribe:
		for _, s := range c.subs {
			if s == cmd.Subscription {
				return
			}
		}
		c.subs = append(c.subs, cmd.Subscription)
	case Unsubscribe:
		for i, s := range c.subs {
			if s == cmd.Subscription {
				c.subs = append(c.subs[:i], c.subs[i+1:]...)
				return
			}
		}
	case SetActivity:
		c.activitySet = cmd.Activity != nil
		c.activityPID = cmd.PID
		if cmd.Activity != nil {
			a := *cmd.Activity
			c.activity = &a
		} else {
			c.activity = nil
		}
	case ClearActivity:
		c.activitySet, c.activity = false, nil
	}
}

func (s *session) call(ctx context.Context, b []byte, nonce string) (json.RawMessage, error) {
	ch := make(chan reply, 1)
	s.mu.Lock()
	if s.pending == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %w", ErrConnectionLost, s.err)
	}
	s.pending[nonce] = ch
	s.mu.Unlock()
	if err := s.c.write(b); err != nil {
		s.forget(nonce)
		return nil, fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	select {
	case r := <-ch:
		return r.data, r.err
	case <-ctx.Done():
		s.forget(nonce)
		return nil, ctx.Err()
	case <-s.dead:
		select {
		case r := <-ch: // answered just before the end
			return r.data, r.err
		default:
		}
		return nil, fmt.Errorf("%w: %w", ErrConnectionLost, s.err)
	}
}

func (s *session) forget(nonce string) {
	s.mu.Lock()
	if s.pending != nil {
		delete(s.pending, nonce)
	}
	s.mu.Unlock()
}

// resolve hands an answer to the command waiting for its nonce.
func (s *session) resolve(p payload) bool {
	s.mu.Lock()
	ch, ok := s.pending[p.Nonce]
	delete(s.pending, p.Nonce)
	s.mu.Unlock()
	if !ok {
		return false
	}
	r := reply{data: p.Data}
	if p.Evt == EventError {
		r = reply{err: p.asError()}
	}
	ch <- r // buffered, one answer per nonce
	return true
}

// startSession wraps a connection that gave READY and starts its reader.
func (c *Client) startSession(cn conn) *session {
	s := &session{c: cn, pending: map[string]chan reply{}, dead: make(chan struct{})}
	c.tasks.Go(func() { c.readLoop(s) })
	return s
}

// readLoop reads until the connection ends. It never waits on the caller except through the
// bounded event queue.
func (c *Client) readLoop(s *session) {
	var err error
	defer func() {
		s.mu.Lock()
		s.pending = nil
		s.err = err
		s.mu.Unlock()
		close(s.dead)
	}()
	for {
		var p payload
		p, err = s.c.read()
		if err != nil {
			if errors.Is(err, ErrBadPayload) {
				c.log.Warn("skipping a malformed payload from the app", zap.Error(err))
				continue
			}
			return
		}
		switch {
		case p.Nonce != "":
			if !s.resolve(p) {
				c.log.Debug("answer for a command nobody waits for", zap.String("cmd", p.Cmd), zap.String("nonce", p.Nonce))
			}
		case p.Evt == EventError:
			if !c.emitOn(s, &ErrorEvent{Err: p.asError()}) {
				err = context.Canceled
				return
			}
		case p.Cmd == cmdDispatch && p.Evt != EventReady:
			if !c.emitOn(s, decodeDispatch(p)) {
				err = context.Canceled
				return
			}
		default:
			c.log.Debug("ignoring payload", zap.String("cmd", p.Cmd), zap.String("evt", string(p.Evt)))
		}
	}
}

// emitOn queues an event read on s, or holds it until s is announced.
func (c *Client) emitOn(s *session, ev Event) bool {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if !s.open {
		s.held = append(s.held, ev)
		return true
	}
	return c.emit(ev)
}

// emit queues an event for the deliverer; false once the client is stopping.
func (c *Client) emit(ev Event) bool {
	select {
	case c.queue <- ev:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// deliver moves events from the queue to the caller's out channel. After Close or ctx
// cancellation queued events are dropped; when the client stops by itself they are all
// delivered first.
func (c *Client) deliver() {
	send := func(ev Event) bool {
		select {
		case c.out <- ev:
			return true
		case <-c.ctx.Done():
			return false
		}
	}
	for {
		select {
		case ev := <-c.queue:
			if !send(ev) {
				return
			}
			c.delivered.Add(1)
		case <-c.stopped:
			for {
				select {
				case ev := <-c.queue:
					if !send(ev) {
						return
					}
				default:
					return
				}
			}
		case <-c.ctx.Done():
			return
		}
	}
}

// run owns the connection: it serves one session at a time and reconnects with backoff.
func (c *Client) run(s *session, ready *Ready) {
	defer func() {
		close(c.stopped)
		c.tasks.Wait()
		c.cancel()
		close(c.done)
	}()
	c.activate(s, ready)
	for {
		cause := c.serve(s)
		if c.ctx.Err() != nil {
			return
		}
		var ce *CloseError
		if errors.As(cause, &ce) && ce.Fatal() {
			c.stop(cause)
			return
		}
		next, r, err := c.reconnect(cause)
		if err != nil {
			c.stop(err)
			return
		}
		if next == nil {
			return
		}
		s = next
		c.restoreMu.Lock()
		r.Resubscribed, r.RestoreErr = c.restore(s)
		c.activate(s, r)
		c.restoreMu.Unlock()
	}
}

func (c *Client) stop(err error) {
	c.log.Warn("rpc client stopped", zap.Error(err))
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

// activate makes s the session commands use and announces it.
func (c *Client) activate(s *session, r *Ready) {
	c.mu.Lock()
	c.sess = s
	c.ready = r.ReadyData
	c.transport, c.endpoint = r.Transport, r.Endpoint
	close(c.up)
	c.mu.Unlock()
	c.log.Info("rpc connected", zap.Stringer("transport", r.Transport), zap.String("endpoint", r.Endpoint),
		zap.Bool("reconnected", r.Reconnected), zap.Int("resubscribed", r.Resubscribed))
	// Ready, the held dispatches and the opening happen under emitMu, so a dispatch read
	// meanwhile waits and lands after them, in order.
	s.emitMu.Lock()
	c.emit(r)
	for _, ev := range s.held {
		if !c.emit(ev) {
			break
		}
	}
	s.held, s.open = nil, true
	s.emitMu.Unlock()
}

// serve waits until s ends (its error) or the client stops (nil).
func (c *Client) serve(s *session) error {
	var cause error
	select {
	case <-s.dead:
		cause = s.err
	case <-c.ctx.Done():
	}
	s.c.close()
	<-s.dead
	c.mu.Lock()
	c.sess = nil
	c.up = make(chan struct{})
	c.mu.Unlock()
	return cause
}

// reconnect waits and dials until a connection answers. It returns nil, nil, nil when the
// client stops meanwhile, and an error when it must give up.
func (c *Client) reconnect(cause error) (*session, *Ready, error) {
	for attempt := 0; ; attempt++ {
		delay := c.cfg.backoff.Delay(attempt, rand.Float64())
		if attempt == 0 {
			c.log.Warn("rpc connection lost; reconnecting", zap.Error(cause), zap.Duration("retry_in", delay))
			if !c.emit(&Disconnected{Err: cause, RetryIn: delay}) {
				return nil, nil, nil
			}
		} else {
			c.log.Warn("rpc reconnect failed", zap.Error(cause), zap.Int("attempt", attempt), zap.Duration("retry_in", delay))
		}
		if !sleep(c.cfg.clock, delay, c.ctx.Done()) {
			return nil, nil, nil
		}
		s, r, err := c.connect(c.ctx)
		if err == nil {
			r.Reconnected = true
			c.reconnects.Add(1)
			return s, r, nil
		}
		if c.ctx.Err() != nil {
			return nil, nil, nil
		}
		var ce *CloseError
		if errors.As(err, &ce) && ce.Fatal() {
			return nil, nil, err
		}
		if c.cfg.maxReconnects > 0 && attempt+1 >= c.cfg.maxReconnects {
			return nil, nil, fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, attempt+1, err)
		}
		cause = err
	}
}

// restoreTimeout bounds each command a reconnect re-sends.
const restoreTimeout = 10 * time.Second

// restore re-sends, on a fresh connection, the token, the subscriptions and the activity.
func (c *Client) restore(s *session) (int, error) {
	c.mu.Lock()
	tok, subs := c.token, append([]Subscription(nil), c.subs...)
	act, pid, actSet := c.activity, c.activityPID, c.activitySet
	c.mu.Unlock()

	send := func(cmd Command) error {
		ctx, cancel := context.WithTimeout(c.ctx, restoreTimeout)
		defer cancel()
		nonce := c.noncePrefix + strconv.FormatUint(c.nonceSeq.Add(1), 10)
		b, _, _, err := encodeCommand(cmd, c.defaults, nonce)
		if err != nil {
			return err
		}
		_, err = s.call(ctx, b, nonce)
		return err
	}
	var errs []error
	authed := true
	if tok != nil {
		if err := send(Authenticate{AccessToken: tok.v}); err != nil {
			authed = false
			errs = append(errs, fmt.Errorf("rpc: re-authenticate: %w", err))
			if ErrorCodeOf(err) == CodeInvalidToken {
				c.mu.Lock()
				c.token = nil
				c.mu.Unlock()
			}
		}
	}
	n := 0
	if authed {
		for _, sub := range subs {
			if err := send(Subscribe{sub}); err != nil {
				errs = append(errs, fmt.Errorf("rpc: resubscribe %s: %w", sub.Event, err))
				continue
			}
			n++
		}
	}
	if actSet {
		if err := send(SetActivity{PID: pid, Activity: act}); err != nil {
			errs = append(errs, fmt.Errorf("rpc: restore activity: %w", err))
		}
	}
	return n, errors.Join(errs...)
}
