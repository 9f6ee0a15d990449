// Package oncall holds the on-call triager's page decision: whether to page a person for an
// incident, and the message read out on the call.
package oncall
