// Package profile defines Vigil's alert and transaction-profile model, its JSON wire format and its validation.
package profile
