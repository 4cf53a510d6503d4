package sleep

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// state is the State of a Space created at created with annotations.
func state(t *testing.T, created time.Time, annotations map[string]string) State {
	t.Helper()
	s, err := StateOf(annotations, created)
	require.NoError(t, err)
	return s
}

func TestDecide(t *testing.T) {
	created := utc("2026-01-05T08:00:00Z")
	at := func(d time.Duration) time.Time { return created.Add(d) }
	unix := func(d time.Duration) string { return FormatUnix(at(d)) }
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		now         time.Duration
		want        Decision
	}{
		{"nothing set", map[string]string{}, time.Hour, Decision{Action: Stay}},
		{"idle less than sleep-after", map[string]string{SleepAfter: "60"}, 30 * time.Second,
			Decision{Action: Stay, Next: at(time.Minute)}},
		{"idle for sleep-after since creation", map[string]string{SleepAfter: "60"}, time.Minute,
			Decision{Action: Sleep, Reason: ReasonIdle}},
		{"activity pushes sleep back", map[string]string{SleepAfter: "60", LastActivity: unix(50 * time.Second)}, 70 * time.Second,
			Decision{Action: Stay, Next: at(110 * time.Second)}},
		{"asleep stays asleep", map[string]string{SleepAfter: "60", SleepingSince: unix(time.Minute), SleepReason: ReasonIdle}, time.Hour,
			Decision{Action: Sleep, Reason: ReasonIdle}},
		{"activity after falling asleep wakes", map[string]string{SleepAfter: "60", SleepingSince: unix(time.Minute),
			SleepReason: ReasonIdle, LastActivity: unix(2 * time.Minute)}, 3 * time.Minute, Decision{Action: Wake}},
		{"turning sleep mode off wakes", map[string]string{SleepingSince: unix(time.Minute), SleepReason: ReasonIdle}, time.Hour,
			Decision{Action: Wake}},
		{"force sleeps at once", map[string]string{Force: "true"}, 0, Decision{Action: Sleep, Reason: ReasonForce}},
		{"force false is no force", map[string]string{Force: "false"}, time.Hour, Decision{Action: Stay}},
		{"activity does not end a forced sleep", map[string]string{Force: "true", SleepingSince: unix(time.Minute),
			SleepReason: ReasonForce, LastActivity: unix(2 * time.Minute)}, 3 * time.Minute, Decision{Action: Sleep, Reason: ReasonForce}},
		{"removing force wakes", map[string]string{SleepingSince: unix(time.Minute), SleepReason: ReasonForce}, 3 * time.Minute,
			Decision{Action: Wake}},
		{"force-duration not over", map[string]string{Force: "true", ForceDuration: "600", SleepingSince: unix(time.Minute),
			SleepReason: ReasonForce}, 3 * time.Minute, Decision{Action: Sleep, Reason: ReasonForce, Next: at(11 * time.Minute)}},
		{"force-duration over", map[string]string{Force: "true", ForceDuration: "600", SleepingSince: unix(time.Minute),
			SleepReason: ReasonForce}, 11 * time.Minute, Decision{Action: EndForce}},
		{"force on an idle sleep makes it forced", map[string]string{Force: "true", SleepingSince: unix(time.Minute),
			SleepReason: ReasonIdle}, 3 * time.Minute, Decision{Action: Sleep, Reason: ReasonForce}},
		{"delete-after", map[string]string{DeleteAfter: "3600", SleepAfter: "60"}, time.Hour, Decision{Action: Delete}},
		{"delete-after asleep", map[string]string{DeleteAfter: "3600", SleepingSince: unix(time.Minute), SleepReason: ReasonIdle},
			time.Hour, Decision{Action: Delete}},
		{"delete-after counts from the last activity", map[string]string{DeleteAfter: "3600", LastActivity: unix(30 * time.Minute)},
			time.Hour, Decision{Action: Stay, Next: at(90 * time.Minute)}},
		// 2026-01-05 is a Monday; 08:00 UTC is 09:00 in Berlin.
		{"sleep schedule not yet fired", map[string]string{SleepSchedule: "0 20 * * *", Timezone: "Europe/Berlin"}, time.Hour,
			Decision{Action: Stay, Next: utc("2026-01-05T19:00:00Z")}},
		{"sleep schedule fired", map[string]string{SleepSchedule: "0 20 * * *", Timezone: "Europe/Berlin"}, 11 * time.Hour,
			Decision{Action: Sleep, Reason: ReasonSchedule}},
		{"used after the sleep schedule fired", map[string]string{SleepSchedule: "0 20 * * *", Timezone: "Europe/Berlin",
			LastActivity: FormatUnix(utc("2026-01-05T19:30:00Z"))}, 12 * time.Hour, Decision{Action: Stay, Next: utc("2026-01-06T19:00:00Z")}},
		{"wakeup schedule not yet fired", map[string]string{SleepSchedule: "0 20 * * *", WakeupSchedule: "0 8 * * *",
			Timezone: "Europe/Berlin", SleepingSince: FormatUnix(utc("2026-01-05T19:00:00Z")), SleepReason: ReasonSchedule},
			20 * time.Hour, Decision{Action: Sleep, Reason: ReasonSchedule, Next: utc("2026-01-06T07:00:00Z")}},
		{"wakeup schedule fired", map[string]string{SleepSchedule: "0 20 * * *", WakeupSchedule: "0 8 * * *",
			Timezone: "Europe/Berlin", SleepingSince: FormatUnix(utc("2026-01-05T19:00:00Z")), SleepReason: ReasonSchedule},
			23 * time.Hour, Decision{Action: Wake}},
		{"wakeup schedule does not end a forced sleep", map[string]string{Force: "true", WakeupSchedule: "0 8 * * *",
			SleepingSince: unix(0), SleepReason: ReasonForce}, 48 * time.Hour, Decision{Action: Sleep, Reason: ReasonForce}},
		{"the soonest deadline is next", map[string]string{SleepAfter: "7200", DeleteAfter: "3600"}, time.Minute,
			Decision{Action: Stay, Next: at(time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Decide(state(t, created, tc.annotations), at(tc.now)))
		})
	}
}

func TestParseNamesTheAnnotation(t *testing.T) {
	path := field.NewPath("metadata", "annotations")
	for key, value := range map[string]string{
		SleepAfter:     "5m",
		DeleteAfter:    "-1",
		ForceDuration:  "0",
		SleepSchedule:  "every night",
		WakeupSchedule: "0 25 * * *",
		Timezone:       "Mars/Olympus",
		Force:          "yes please",
		DeleteAllPods:  "sometimes",
		LastActivity:   "yesterday",
		SleepingSince:  "1.5",
		SleepReason:    "tired",
	} {
		_, errs := Parse(map[string]string{key: value}, path)
		if assert.Len(t, errs, 1, key) {
			assert.Equal(t, "metadata.annotations["+key+"]", errs[0].Field, key)
			assert.Contains(t, errs[0].Error(), value, key)
		}
	}
	c, errs := Parse(map[string]string{SleepAfter: "3600", DeleteAfter: "86400", Timezone: "America/New_York",
		SleepSchedule: "0 20 * * 1-5", WakeupSchedule: "0 8 * * 1-5", Force: "true", ForceDuration: "60", DeleteAllPods: "true",
		"unrelated": "x"}, path)
	require.Empty(t, errs)
	assert.Equal(t, time.Hour, c.SleepAfter)
	assert.Equal(t, 24*time.Hour, c.DeleteAfter)
	assert.Equal(t, "America/New_York", c.Location.String())
	assert.True(t, c.Force && c.DeleteAllPods && c.Enabled())
}

func TestEnabled(t *testing.T) {
	assert.False(t, Enabled(nil))
	assert.False(t, Enabled(map[string]string{Timezone: "UTC", Force: "false"}))
	for _, key := range []string{SleepAfter, DeleteAfter, SleepSchedule, Force, SleepingSince} {
		assert.True(t, Enabled(map[string]string{key: "1"}), key)
	}
}
