package reservation

import "time"

// SetClock makes l read the time from now.
func SetClock(l *Ledger, now func() time.Time) { l.now = now }
