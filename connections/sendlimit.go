package connections

import (
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/internal/sendwindow"
)

// heartbeatReserve sends of every 60 s window are kept for heartbeats, so commands can never
// starve the keep-alive.
const heartbeatReserve = 5

// sendWindowMargin lengthens the window a little, so that network delay between our clock and
// Discord's cannot make the two disagree about which sends fall inside one minute.
const sendWindowMargin = time.Second

// sendLimiter is what a shard needs from a send window.
type sendLimiter interface {
	Allow(heartbeat bool) (ok bool, retryAfter time.Duration)
	Used() int
	Reset()
}

func newSendLimiter(clk clock.Clock) sendLimiter {
	return sendwindow.New(clk, sendwindow.GatewayLimit, sendwindow.GatewayPer+sendWindowMargin, heartbeatReserve)
}
