// Package sleep is the logic of sleep mode, in Loft's sleepmode.loft.sh/ annotations: what a
// Space's annotations say (and whether they are valid), when an idle Space goes to sleep,
// wakes or is deleted, and which requests count as activity. It imports no apiserver package;
// the webhook that records activity and the controller that scales workloads use it.
package sleep

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// Timezones are resolved inside the binary, whatever the image holds.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Prefix is the prefix of every sleep mode annotation.
const Prefix = "sleepmode.loft.sh/"

// Configuration, set on a Space (its namespace) by its users or by its Account's spaceTemplate.
const (
	// SleepAfter is the seconds of inactivity after which the Space sleeps.
	SleepAfter = Prefix + "sleep-after"
	// DeleteAfter is the seconds of inactivity after which the Space is deleted.
	DeleteAfter = Prefix + "delete-after"
	// SleepSchedule is a cron expression: the Space sleeps when it fires.
	SleepSchedule = Prefix + "sleep-schedule"
	// WakeupSchedule is a cron expression: a sleeping Space wakes when it fires.
	WakeupSchedule = Prefix + "wakeup-schedule"
	// Timezone is the IANA name of the timezone of the schedules; UTC when unset.
	Timezone = Prefix + "timezone"
	// Force puts the Space to sleep now, until it is removed.
	Force = Prefix + "force"
	// ForceDuration is the seconds after which a forced sleep ends by itself.
	ForceDuration = Prefix + "force-duration"
	// DeleteAllPods, "true", deletes the Space's Pods that no controller owns when it sleeps.
	DeleteAllPods = Prefix + "delete-all-pods"
	// Exclude, "true" on a workload, keeps sleep mode from ever scaling it.
	Exclude = Prefix + "exclude"
)

// State the server writes.
const (
	// LastActivity is the unix second of the Space's last activity, written at most once a
	// minute.
	LastActivity = Prefix + "last-activity"
	// SleepingSince is the unix second the Space went to sleep; absent while it is awake.
	SleepingSince = Prefix + "sleeping-since"
	// SleepReason says why the Space sleeps: force, idle or schedule.
	SleepReason = Prefix + "sleep-reason"
	// Replicas, on a workload, is the replica count it had before the Space slept.
	Replicas = Prefix + "replicas"
	// Suspended, "true" on a CronJob, says sleep mode suspended it (it was not suspended
	// before).
	Suspended = Prefix + "suspended"
)

// Reasons a Space sleeps, in SleepReason.
const (
	ReasonForce    = "force"
	ReasonIdle     = "idle"
	ReasonSchedule = "schedule"
)

// ServerWritten reports whether key is an annotation only the server writes on a Space.
func ServerWritten(key string) bool {
	switch key {
	case LastActivity, SleepingSince, SleepReason:
		return true
	}
	return false
}

// Config is what a Space's annotations say of sleep mode. Zero durations and nil schedules
// are unset.
type Config struct {
	SleepAfter     time.Duration
	DeleteAfter    time.Duration
	SleepSchedule  cron.Schedule
	WakeupSchedule cron.Schedule
	Location       *time.Location
	Force          bool
	ForceDuration  time.Duration
	DeleteAllPods  bool
}

// Enabled reports whether anything in c can put the Space to sleep or delete it.
func (c Config) Enabled() bool {
	return c.SleepAfter > 0 || c.DeleteAfter > 0 || c.SleepSchedule != nil || c.Force
}

// Enabled reports whether the annotations turn sleep mode on for a Space, without parsing
// more than needed: for the hot path of the activity webhook.
func Enabled(annotations map[string]string) bool {
	for _, k := range []string{SleepAfter, DeleteAfter, SleepSchedule, Force, SleepingSince} {
		if v, ok := annotations[k]; ok && v != "" && v != "false" {
			return true
		}
	}
	return false
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse reads the sleep mode configuration in annotations. Every invalid value is an
// error at path (the annotations' path) keyed by its annotation; the Config holds the valid
// ones.
func Parse(annotations map[string]string, path *field.Path) (Config, field.ErrorList) {
	c := Config{Location: time.UTC}
	var errs field.ErrorList
	seconds := func(key string) time.Duration {
		v, ok := annotations[key]
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 || n > maxSeconds {
			errs = append(errs, field.Invalid(path.Key(key), v, fmt.Sprintf("must be a whole number of seconds from 1 to %d", maxSeconds)))
			return 0
		}
		return time.Duration(n) * time.Second
	}
	boolean := func(key string) bool {
		v, ok := annotations[key]
		if !ok {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, field.Invalid(path.Key(key), v, `must be "true" or "false"`))
		}
		return b
	}
	c.SleepAfter = seconds(SleepAfter)
	c.DeleteAfter = seconds(DeleteAfter)
	c.ForceDuration = seconds(ForceDuration)
	c.Force = boolean(Force)
	c.DeleteAllPods = boolean(DeleteAllPods)
	if tz, ok := annotations[Timezone]; ok {
		loc, err := loadLocation(tz)
		if err != nil {
			errs = append(errs, field.Invalid(path.Key(Timezone), tz, "must be an IANA timezone name, such as Europe/Berlin"))
		} else {
			c.Location = loc
		}
	}
	schedule := func(key string) cron.Schedule {
		v, ok := annotations[key]
		if !ok {
			return nil
		}
		s, err := ParseSchedule(v)
		if err != nil {
			errs = append(errs, field.Invalid(path.Key(key), v, err.Error()))
			return nil
		}
		return s
	}
	c.SleepSchedule = schedule(SleepSchedule)
	c.WakeupSchedule = schedule(WakeupSchedule)
	for _, key := range []string{LastActivity, SleepingSince} {
		if v, ok := annotations[key]; ok {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				errs = append(errs, field.Invalid(path.Key(key), v, "must be a unix time in seconds"))
			}
		}
	}
	if v, ok := annotations[SleepReason]; ok && v != ReasonForce && v != ReasonIdle && v != ReasonSchedule {
		errs = append(errs, field.NotSupported(path.Key(SleepReason), v, []string{ReasonForce, ReasonIdle, ReasonSchedule}))
	}
	return c, errs
}

// maxSeconds bounds durations well inside time.Duration (about 31 years).
const maxSeconds = 1 << 30

// loadLocation resolves an IANA name; "Local" is refused, since it would depend on the
// machine the server runs on.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("not an IANA timezone: %q", name)
	}
	return time.LoadLocation(name)
}

// ParseSchedule reads a cron expression of five fields (minute, hour, day of month, month,
// day of week) or a descriptor such as @daily. The timezone comes from the Timezone
// annotation, never from the expression.
func ParseSchedule(expr string) (cron.Schedule, error) {
	trimmed := strings.TrimSpace(expr)
	if strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ=") {
		return nil, fmt.Errorf("set the timezone with the %s annotation, not in the expression", Timezone)
	}
	if strings.HasPrefix(trimmed, "@every") {
		return nil, fmt.Errorf("@every is not a schedule: use %s for a time of inactivity", SleepAfter)
	}
	s, err := parser.Parse(trimmed)
	if err != nil {
		return nil, fmt.Errorf("must be a cron expression of five fields (minute hour day-of-month month day-of-week): %v", err)
	}
	return s, nil
}

// Unix reads an annotation holding a unix time in seconds; the zero time when absent or
// invalid.
func Unix(annotations map[string]string, key string) time.Time {
	v, ok := annotations[key]
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// FormatUnix is t as an annotation value: unix seconds.
func FormatUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
