package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogLogger adapts the server's tag logger to slog.
type slogLogger struct {
	log   *slog.Logger
	level slog.Level
	// starting is set while Start builds the server: a Fatal or Panic then panics with a
	// fatalLog, which Start recovers into an error (the server's own logger would exit the
	// process; ours used to return, and the server went on with a nil listener and crashed).
	starting *atomic.Bool
}

func newSlogLogger(l *slog.Logger, level slog.Level, starting *atomic.Bool) log.Logger {
	return slogLogger{log: l.With("component", "temporal"), level: level, starting: starting}
}

// fatalLog is a Fatal or Panic log call of the server while it starts, as an error.
type fatalLog struct {
	msg  string
	tags []tag.Tag
}

func (f fatalLog) Error() string {
	var b strings.Builder
	b.WriteString(f.msg)
	for i, t := range f.tags {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %v", t.Key(), t.Value())
	}
	if len(f.tags) > 0 {
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the error tags of the call, so that errors.Is sees the cause (EADDRINUSE).
func (f fatalLog) Unwrap() []error {
	var out []error
	for _, t := range f.tags {
		if zt, ok := t.(tag.ZapTag); ok {
			if err, ok := zt.Field().Interface.(error); ok {
				out = append(out, err)
			}
		}
	}
	return out
}

func (s slogLogger) Debug(msg string, tags ...tag.Tag) { s.emit(slog.LevelDebug, msg, tags) }
func (s slogLogger) Info(msg string, tags ...tag.Tag)  { s.emit(slog.LevelInfo, msg, tags) }
func (s slogLogger) Warn(msg string, tags ...tag.Tag)  { s.emit(slog.LevelWarn, msg, tags) }
func (s slogLogger) Error(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }
func (s slogLogger) DPanic(msg string, tags ...tag.Tag) {
	s.emit(slog.LevelError, msg, tags)
}
func (s slogLogger) Panic(msg string, tags ...tag.Tag) { s.fatal(msg, tags) }
func (s slogLogger) Fatal(msg string, tags ...tag.Tag) { s.fatal(msg, tags) }

func (s slogLogger) fatal(msg string, tags []tag.Tag) {
	if s.starting != nil && s.starting.Load() {
		panic(fatalLog{msg: msg, tags: tags})
	}
	s.emit(slog.LevelError, msg, tags)
}

func (s slogLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level < s.level || !s.log.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
	}
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// nopLogger silences the SDK client used for the readiness probe.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

func describeNamespace(ns string) *workflowservice.DescribeNamespaceRequest {
	return &workflowservice.DescribeNamespaceRequest{Namespace: ns}
}
