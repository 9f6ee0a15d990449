// Package changecorpus is a labelled corpus of deployment scenarios, generated as Prometheus data (OpenTelemetry HTTP histograms and log counts) and backfilled into a real Prometheus, for judging change tracking's accuracy.
package changecorpus
