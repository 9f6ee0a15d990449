package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/profile"
)

// TaskQueue is the default task queue of Vigil's workflows and activities.
const TaskQueue = "vigil"

// Search attribute keys Vigil sets on its workflows, so operators can filter in the Temporal UI.
var (
	SearchAttrKind        = temporal.NewSearchAttributeKeyKeyword("VigilKind")
	SearchAttrApplication = temporal.NewSearchAttributeKeyKeyword("VigilApplication")
	SearchAttrRule        = temporal.NewSearchAttributeKeyKeyword("VigilRule")
	SearchAttrState       = temporal.NewSearchAttributeKeyKeyword("VigilState")
	SearchAttrSeverity    = temporal.NewSearchAttributeKeyKeyword("VigilSeverity")
	// SearchAttrApplications lists every application a deployment touches
	// (VigilApplication holds the first only).
	SearchAttrApplications = temporal.NewSearchAttributeKeyKeywordList("VigilApplications")
)

// SearchAttributes lists the custom search attributes to register on the namespace.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchAttrKind.GetName():         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrApplication.GetName():  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrRule.GetName():         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrState.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrSeverity.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrApplications.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	}
}

// IncidentWorkflowID derives the workflow ID from the alert's identity (fingerprint and start
// time), so a resent alert joins the investigation it already has instead of starting another.
func IncidentWorkflowID(a *profile.Alert) string {
	fp := a.Fingerprint
	if fp == "" {
		fp = a.ComputeFingerprint()
	}
	return "incident-" + sanitizeID(fp) + "-" + strconv.FormatInt(a.StartsAt.UTC().Unix(), 10)
}

func sanitizeID(s string) string {
	ok := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			ok = false
			break
		}
	}
	if ok && len(s) <= 64 && s != "" {
		return strings.ToLower(s)
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
