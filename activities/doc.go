// Package activities holds every side effect of Vigil's workflows (LLM calls, analysis, storage,
// notifications) as methods of one struct per capability holding only the dependencies it uses:
// Gateway, Incident, Change, Delivery, OnCall, Tuning (and the Probe function).
package activities
