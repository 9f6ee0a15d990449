package oncall

import "time"

// Person is someone the on-call can page.
type Person struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Plan is the escalation an incident gets.
type Plan struct {
	People     []Person      `json:"people"`
	AckTimeout time.Duration `json:"ackTimeout"`
	Rounds     int           `json:"rounds"`
	Language   string        `json:"language"`
	// Reason says why People is empty (no phone provider, nobody on the rota).
	Reason string `json:"reason,omitempty"`
}
