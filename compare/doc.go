// Package compare is the deterministic comparison engine of change tracking: per-metric
// availability (not collected, gone, new), relative and absolute change against baselines, a
// Mann-Whitney U rank test on per-minute series, and the roll-up into an application state.
//
// Every metric's window after a change is compared with the same window 24 hours earlier ("1d")
// and 7 days earlier ("1w"). A metric is Degraded only when it is worse — significantly and
// materially — against every baseline that has enough data; worse against one and in line with
// the other (a weekly rhythm that yesterday does not share) is not a regression of this change.
// A metric with no series anywhere is "not collected" and not held against the application; one
// that disappeared after the change is "gone", a regression; an application with nothing
// judged is never STABLE.
package compare
