// Package compare is the deterministic comparison engine of change tracking:
// per-metric relative change against baselines, a Mann-Whitney U rank test on
// per-minute series, a minimum-data rule, direction, and explicit missing data.
//
// Every metric's window after a change is compared with the same window 24
// hours earlier ("1d") and 7 days earlier ("1w"). A metric is Degraded only
// when it is worse against every baseline that has enough data; worse against
// one and not the other (for example a weekly traffic pattern that yesterday
// does not share) is Inconclusive. Missing data is never reported as Stable.
package compare
