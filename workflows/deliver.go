package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/notify"
)

// deliverAll sends msg on every configured notify channel in parallel, each delivery once (the
// activity keeps a record per key and channel), and reports each channel's outcome; nil when no
// channel is configured. A failed channel never fails the caller.
func deliverAll(ctx workflow.Context, msg notify.Message) []notify.DeliveryState {
	var dv *activities.Delivery
	lactx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var channels []string
	if err := workflow.ExecuteLocalActivity(lactx, dv.NotifyChannels).Get(ctx, &channels); err != nil || len(channels) == 0 {
		return nil
	}
	dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: []string{activities.ErrTypeDeliveryRejected},
		},
	})
	futures := make([]workflow.Future, len(channels))
	for i, ch := range channels {
		futures[i] = workflow.ExecuteActivity(dctx, dv.Deliver, activities.DeliverRequest{Channel: ch, Message: msg})
	}
	out := make([]notify.DeliveryState, len(channels))
	for i, f := range futures {
		var res activities.DeliveryResult
		out[i] = notify.DeliveryState{Channel: channels[i]}
		if err := f.Get(ctx, &res); err != nil {
			out[i].Status, out[i].Error = "failed", errMessage(err)
			workflow.GetLogger(ctx).Warn("delivery failed", "channel", channels[i], "title", msg.Title, "error", err)
		} else {
			out[i].Status = res.Status
		}
	}
	return out
}
