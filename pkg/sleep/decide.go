package sleep

import (
	"time"

	"github.com/robfig/cron/v3"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// State is what the controller knows of a Space: its annotations, read by Parse, and when
// it was created.
type State struct {
	Config Config
	// Created is the Space's creation time: the activity of a Space that has none recorded.
	Created time.Time
	// LastActivity is the recorded last activity; zero when none is.
	LastActivity time.Time
	// SleepingSince is when the Space went to sleep; zero while it is awake.
	SleepingSince time.Time
	// Reason is why it sleeps.
	Reason string
}

// StateOf reads the State of a Space from its annotations and creation time.
func StateOf(annotations map[string]string, created time.Time) (State, error) {
	c, errs := Parse(annotations, field.NewPath("metadata", "annotations"))
	return State{
		Config:        c,
		Created:       created,
		LastActivity:  Unix(annotations, LastActivity),
		SleepingSince: Unix(annotations, SleepingSince),
		Reason:        annotations[SleepReason],
	}, errs.ToAggregate()
}

// Asleep reports whether the Space sleeps.
func (s State) Asleep() bool { return !s.SleepingSince.IsZero() }

// idleSince is when the Space was last used: its last activity, or its creation.
func (s State) idleSince() time.Time {
	if s.LastActivity.After(s.Created) {
		return s.LastActivity
	}
	return s.Created
}

// Action is what the controller does to a Space.
type Action string

const (
	// Stay leaves the Space as it is (asleep or awake).
	Stay Action = "Stay"
	// Sleep puts the Space to sleep, or keeps it asleep, with the Decision's reason.
	Sleep Action = "Sleep"
	// Wake wakes the Space.
	Wake Action = "Wake"
	// EndForce removes the force annotation, whose force-duration has passed.
	EndForce Action = "EndForce"
	// Delete deletes the Space.
	Delete Action = "Delete"
)

// Decision is what to do with a Space now, and when to look at it again.
type Decision struct {
	Action Action
	// Reason is why it sleeps, for Sleep.
	Reason string
	// Next is the next moment at which the decision may change without any event; zero
	// when only an event can change it.
	Next time.Time
}

// Decide says what to do with a Space in state s at now.
//
//   - delete-after: idle for that long, the Space is deleted, asleep or awake.
//   - force: an awake Space sleeps at once; a forced sleep ends when force is removed, or
//     when force-duration has passed since it began (the server then removes force).
//     Activity does not end a forced sleep.
//   - sleep-after: an awake Space sleeps once idle for that long.
//   - sleep-schedule: an awake Space sleeps when the schedule fires, unless it was used
//     after that moment.
//   - A Space asleep for another reason than force wakes on activity after it fell asleep,
//     when the wakeup-schedule fires, or when sleep mode is turned off.
//
// Waking records an activity, so a woken Space is idle from that moment.
func Decide(s State, now time.Time) Decision {
	c := s.Config
	idle := s.idleSince()
	var next time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t.UTC()
		}
	}
	if c.DeleteAfter > 0 {
		at := idle.Add(c.DeleteAfter)
		if !now.Before(at) {
			return Decision{Action: Delete}
		}
		soonest(at)
	}
	if s.Asleep() {
		if c.Force {
			if c.ForceDuration > 0 {
				end := s.SleepingSince.Add(c.ForceDuration)
				if !now.Before(end) {
					return Decision{Action: EndForce}
				}
				soonest(end)
			}
			return Decision{Action: Sleep, Reason: ReasonForce, Next: next}
		}
		if s.Reason == ReasonForce || !c.Enabled() || s.LastActivity.After(s.SleepingSince) {
			return Decision{Action: Wake}
		}
		if c.WakeupSchedule != nil {
			at := nextFiring(c.WakeupSchedule, c.Location, s.SleepingSince)
			if !at.After(now) {
				return Decision{Action: Wake}
			}
			soonest(at)
		}
		return Decision{Action: Sleep, Reason: s.Reason, Next: next}
	}
	if c.Force {
		return Decision{Action: Sleep, Reason: ReasonForce, Next: next}
	}
	if c.SleepAfter > 0 {
		at := idle.Add(c.SleepAfter)
		if !now.Before(at) {
			return Decision{Action: Sleep, Reason: ReasonIdle}
		}
		soonest(at)
	}
	if c.SleepSchedule != nil {
		at := nextFiring(c.SleepSchedule, c.Location, idle)
		if !at.After(now) {
			return Decision{Action: Sleep, Reason: ReasonSchedule}
		}
		soonest(at)
	}
	return Decision{Action: Stay, Next: next}
}

// nextFiring is the first moment after since at which schedule fires, in loc; zero when it
// never does.
func nextFiring(schedule cron.Schedule, loc *time.Location, since time.Time) time.Time {
	return Zoned{Schedule: schedule, Location: loc}.Next(since)
}
