package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/store"
)

// ErrTypeDeliveryRejected marks a delivery that will not succeed by retrying (bad address,
// 4xx, unknown channel).
const ErrTypeDeliveryRejected = "DeliveryRejected"

// Delivery holds the delivery of reports and verdicts on the notify channels and what it uses:
// an incident's report, change tracking's verdicts and the on-call's unacknowledged notice go
// through it
// (workflows/deliver.go). Workflows reference its methods through a nil *Delivery.
type Delivery struct {
	// Store keeps each key's delivery per channel (one delivery per key and channel).
	Store  store.Store
	Logger *slog.Logger
	// Channels deliver the messages (e-mail, Slack, webhook).
	Channels []notify.Channel
	// PublicURL is Vigil's external base URL, for links in the messages.
	PublicURL string
}

// DeliverRequest asks for one incident report to be delivered on one channel.
type DeliverRequest struct {
	Channel string         `json:"channel"`
	Message notify.Message `json:"message"`
}

// DeliveryResult says what the delivery did.
type DeliveryResult struct {
	Channel string `json:"channel"`
	// Status is "sent", or "already-sent" when an earlier attempt or run delivered it.
	Status string `json:"status"`
}

// NotifyChannels names the configured delivery channels, in a stable order.
func (a *Delivery) NotifyChannels(context.Context) ([]string, error) {
	out := make([]string, 0, len(a.Channels))
	for _, c := range a.Channels {
		out = append(out, c.Name())
	}
	return out, nil
}

// Deliver sends the report on one channel, once: the store records each incident's delivery
// per channel, so a retried activity, a replayed workflow or a second run finds it sent and
// does not send again.
func (a *Delivery) Deliver(ctx context.Context, in DeliverRequest) (DeliveryResult, error) {
	id := in.Message.IncidentID
	if d, err := a.Store.GetDelivery(ctx, id, in.Channel); err == nil && d.Status == "sent" {
		return DeliveryResult{Channel: in.Channel, Status: "already-sent"}, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return DeliveryResult{}, fmt.Errorf("read delivery state: %w", err)
	}
	var ch notify.Channel
	for _, c := range a.Channels {
		if c.Name() == in.Channel {
			ch = c
		}
	}
	if ch == nil {
		return DeliveryResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("channel %q is not configured on this worker", in.Channel), ErrTypeDeliveryRejected, nil)
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	if strings.HasPrefix(in.Message.URL, "/") { // a path in Vigil's API
		if a.PublicURL == "" {
			in.Message.URL = ""
		} else {
			in.Message.URL = strings.TrimRight(a.PublicURL, "/") + in.Message.URL
		}
	}
	// Reports go to mailboxes and chat rooms: a credential that reached the text (an exception
	// message quoting a JDBC URL) is redacted as in the store.
	r := (*mask.Masker)(nil).RedactRecord(in.Message.Title, in.Message.Text)
	in.Message.Title, in.Message.Text = r[0], r[1]
	if err := ch.Send(ctx, in.Message); err != nil {
		if rerr := a.Store.RecordDelivery(ctx, store.Delivery{IncidentID: id, Channel: in.Channel, Status: "failed",
			Detail: err.Error(), Attempts: attempt}); rerr != nil {
			logger(a.Logger).Error("record failed delivery", "incident", id, "channel", in.Channel, "error", rerr)
		}
		var de *notify.DeliveryError
		if errors.As(err, &de) && !de.Retryable {
			return DeliveryResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDeliveryRejected, nil)
		}
		opts := temporal.ApplicationErrorOptions{}
		if de != nil && de.RetryAfter > 0 {
			opts.NextRetryDelay = de.RetryAfter
		}
		return DeliveryResult{}, temporal.NewApplicationErrorWithOptions(err.Error(), "DeliveryFailed", opts)
	}
	if err := a.Store.RecordDelivery(ctx, store.Delivery{IncidentID: id, Channel: in.Channel, Status: "sent", Attempts: attempt}); err != nil {
		// Sent but not recorded: a retry of this activity would send again, so do not fail it.
		logger(a.Logger).Error("record delivery", "incident", id, "channel", in.Channel, "error", err)
	}
	return DeliveryResult{Channel: in.Channel, Status: "sent"}, nil
}
