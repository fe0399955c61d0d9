// Package clock forwards to github.com/cordage/cordage/clock, where the clock now lives so that
// users can pass one to the exported WithClock options. Import that package instead; this one
// goes away once nothing imports it.
package clock

import (
	"time"

	pub "github.com/cordage/cordage/clock"
)

type (
	Clock  = pub.Clock
	Timer  = pub.Timer
	Ticker = pub.Ticker
	Manual = pub.Manual
)

func Real() Clock                       { return pub.Real() }
func Scaled(factor float64) Clock       { return pub.Scaled(factor) }
func Factor(c Clock) float64            { return pub.Factor(c) }
func NewManual(start time.Time) *Manual { return pub.NewManual(start) }
func Sleep(c Clock, d time.Duration, done <-chan struct{}) bool {
	return pub.Sleep(c, d, done)
}
