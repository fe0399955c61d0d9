package voice

import (
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
)

// Reasons a session ends that are not close codes.
var (
	errCredsChanged = errors.New("voice: new voice server or session (moved)")
	errServerGone   = errors.New("voice: voice server went away (null endpoint)")
	errLeftChannel  = errors.New("voice: left the voice channel")
)

// run is the supervisor: it runs sessions one after another and decides, after each, whether to
// resume, identify, rejoin, wait for a new voice server, or stop.
func (c *Conn) run(cr credSnapshot) {
	defer func() {
		c.setTransport(nil) // stops the UDP reader
		c.wg.Wait()
		// However the Conn ended (Close, the Manager's context, a fatal close code), leave the
		// channel, so that Discord does not show the bot in it; after a 4014 or a kick it is
		// already out. Leaving here rather than in Close means a cancelled context leaves too.
		c.leaveOnce()
		c.finishOnce()
		c.m.wg.Done()
	}()
	pol := newRetryPolicy(c.cfg.MaxRetries)
	resume := false
	first := true
	for {
		if !first {
			c.stats.reconnects.Add(1)
		}
		first = false
		err := c.session(cr, resume, pol)
		if c.ctx.Err() != nil {
			return
		}
		c.log.Info("voice session ended", zap.Error(err))
		var act action
		var stopErr error
		switch {
		case errors.Is(err, errCredsChanged):
			act = actIdentify
		case errors.Is(err, errServerGone), errors.Is(err, errLeftChannel):
			act = actWait
		default:
			act, stopErr = pol.next(err, c.canResume)
		}
		if act == actStop {
			c.fail(stopErr)
			return
		}
		var delay time.Duration
		if act != actWait && !errors.Is(err, errCredsChanged) {
			delay = c.cfg.Backoff.jittered(pol.failures - 1)
		}
		c.emit(Reconnecting{Err: err, Action: act.String(), Delay: delay})
		if !clock.Sleep(c.clk, delay, c.ctx.Done()) {
			return
		}
		resume = act == actResume
		if !resume {
			c.canResume = false
			c.seq = -1
			c.setTransport(nil)
		}
		switch act {
		case actWait:
			c.canResume = false
			next, err := c.creds.await(c.ctx, c.clk, c.cfg.ServerUpdateWait, cr.Gen, ErrDisconnected)
			if err != nil {
				c.fail(err)
				return
			}
			cr = next
		case actRejoin:
			c.creds.forget() // keeps the channel, which requestJoin reads
			if err := c.requestJoin(c.ctx); err != nil {
				c.fail(err)
				return
			}
			next, err := c.creds.await(c.ctx, c.clk, c.cfg.JoinTimeout, cr.Gen, ErrJoinTimeout)
			if err != nil {
				c.fail(err)
				return
			}
			cr = next
		default:
			// Pick up a move that happened meanwhile.
			if s := c.creds.snapshot(); s.usable() && s.Gen != cr.Gen {
				cr, resume = s, false
				c.canResume, c.seq = false, -1
			}
		}
	}
}

// fail ends the connection with err, and tells a Join still waiting.
func (c *Conn) fail(err error) {
	if c.ctx.Err() != nil {
		return
	}
	c.log.Warn("voice connection ended", zap.Error(err))
	c.stop(err)
	select {
	case c.ready <- err:
	default:
	}
}

// signalReady tells a Join still waiting that the first session is up.
func (c *Conn) signalReady() {
	select {
	case c.ready <- nil:
	default:
	}
}
