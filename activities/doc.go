// Package activities holds every side effect of Vigil's workflows (LLM calls, analysis, storage,
// notifications) as methods of one Activities struct whose dependencies are injected.
package activities
