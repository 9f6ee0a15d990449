// Package notify delivers incident reports to people: e-mail over SMTP,
// Slack (incoming webhook or chat.postMessage) and a generic webhook.
//
// Every [Channel] sends one [Message] per call and reports failures as a
// [*DeliveryError] that says whether retrying may help, so that the caller
// (a Temporal activity) can retry or give up. The incident ID is the
// idempotency key of every delivery: the e-mail Message-ID is derived from
// it and the webhook carries it in the Idempotency-Key header, so a retried
// delivery is recognisable as the same message.
package notify
