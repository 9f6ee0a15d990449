package tuning

// Problem is one of the worst errors or slow spots of the recent incidents, with hints to the
// code behind it: what a code-tuning run asks the role code-tuner to fix.
type Problem struct {
	Key         string   `json:"key"` // stable: the branch name derives from it
	Kind        string   `json:"kind"`
	Title       string   `json:"title"`
	Detail      string   `json:"detail"`
	Application string   `json:"application,omitempty"`
	Hints       []string `json:"hints"` // class or file names found in span names and stack traces
}
