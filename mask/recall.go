package mask

import "strings"

// Recall: a value recognised anywhere in a scope is masked at every other occurrence in that
// scope, whatever its context. A host found inside a URL is masked where the text names it again
// without a scheme ("remote push-gateway.loyalty.svc:8080"), a password found after "password="
// is masked where a stack trace repeats it, a database name where a log line names it.
//
// The values are those of the scope's vault and those the recognisers found in the text being
// masked. An occurrence is a whole word by the rules Unmask uses (not inside a longer run of
// letters and digits; an escape such as \n before it is a separator; for numbers and IPs a
// neighbouring ".<digit>" continues the word), so that its token is found again when unmasking.

// recallable reports whether a value is masked wherever it occurs: it starts with a letter or a
// digit, is at least 4 characters long and has a letter in it, or is a plain number of 6 digits
// or more (an order number). Shorter numbers, and dates, times, IPs and phone numbers (digits
// and separators) are left to their own recognisers, so that years, durations, counts and log
// timestamps that happen to equal a masked SQL literal are left alone.
func recallable(v string) bool {
	if len(v) < 4 || !isAlnum(v[0]) {
		return false
	}
	if allDigits(v) {
		return len(v) >= 6
	}
	for i := 0; i < len(v); i++ {
		if isAlpha(v[i]) {
			return true
		}
	}
	return false
}

// inScheme reports that text[i:j] is part of a URL or JDBC scheme ("mongodb" of
// "mongodb+srv://", "mysql" of "jdbc:mysql://"), which stays as it is.
func inScheme(text string, i, j int) bool {
	k := j
	for k < len(text) && (isAlnum(text[k]) || text[k] == '+' || text[k] == '.' || text[k] == '-') {
		k++
	}
	if strings.HasPrefix(text[k:], "://") {
		return true
	}
	a := i
	for a > 0 && i-a < 32 && (isAlnum(text[a-1]) || text[a-1] == ':') {
		a--
	}
	return hasPrefixFold(text[a:i], "jdbc:")
}

// firstRun is the leading alphanumeric run of a recallable value: the index key.
func firstRun(v string) string {
	k := 0
	for k < len(v) && isAlnum(v[k]) {
		k++
	}
	return v[:k]
}

// recallWord reports whether text[i:j] may be replaced as a whole word.
func recallWord(text string, i, j int, v string) bool {
	if i > 0 && isAlnum(text[i-1]) && !escBefore(text, i) {
		return false
	}
	if j < len(text) && isAlnum(text[j]) {
		return false
	}
	return leftOK(text, i, v) && rightOK(text, j, v)
}

// keepsEdges reports a shape whose token begins and ends with the same kind of character
// (letter or digit, or anything else) as its value: a recalled value may touch such a region,
// its token stays a separate word. Other shapes begin and end their tokens with a letter or a
// digit whatever the value.
func keepsEdges(shape uint8) bool {
	switch shape {
	case shPhone, shNumber, shCard, shPrefix:
		return true
	}
	return false
}

// recallCand is a value found in the text, with how its first region renders it.
type recallCand struct {
	kind  uint16
	shape uint8
	aux   int
}

// recallVal is a candidate value in the index: a list per key, longest value first.
type recallVal struct {
	v string
	recallCand
	next int // index of the next value with the same key, -1 at the end
}

// regionValues calls f with every value a region puts into the vault, as the renderer does:
// the labels of a host, the local part and labels of an e-mail, the masked internal suffix,
// the whole value otherwise.
func regionValues(text string, rg region, f func(v string, c recallCand)) {
	val := text[rg.start:rg.end]
	host := func(h string, aux int) {
		labels := h[:len(h)-aux]
		for labels != "" {
			l := labels
			if dot := strings.IndexByte(labels, '.'); dot >= 0 {
				l, labels = labels[:dot], labels[dot+1:]
			} else {
				labels = ""
			}
			if l != "" {
				f(l, recallCand{kind: rg.kind, shape: shName})
			}
		}
		if aux > 0 {
			f(h[len(h)-aux:], recallCand{kind: rg.kind, shape: shSuffix})
		}
	}
	switch rg.shape {
	case shHost:
		host(val, rg.aux)
	case shEmail:
		at := strings.IndexByte(val, '@')
		f(val[:at], recallCand{kind: rg.kind, shape: shName})
		host(val[at+1:], rg.aux)
	default:
		f(val, recallCand{kind: rg.kind, shape: rg.shape, aux: rg.aux})
	}
}

// recall adds to regs (the recognisers' regions, in text order) a region for every other
// whole-word occurrence of a value of the vault (nil for none) or of regs. A recalled region
// never touches another recalled one, and touches a recogniser's region only if that region's
// token keeps its edges (keepsEdges); otherwise the value is left where it is, glued to a token
// that begins or ends with a letter or digit, so that it is no longer a word of its own there.
func (m *Masker) recall(v *Vault, text string, regs []region) []region {
	var vidx map[string][]int
	if v != nil {
		v.index()
		vidx = v.recall
	}
	var local map[string]int // key → first of its values in vals
	var vals []recallVal
	for _, rg := range regs {
		regionValues(text, rg, func(val string, c recallCand) {
			if !recallable(val) {
				return
			}
			if v != nil {
				if _, ok := v.byValue[val]; ok {
					return // in the vault's index already
				}
			}
			if local == nil {
				local = make(map[string]int, len(regs))
				vals = make([]recallVal, 0, len(regs))
			}
			k := firstRun(val)
			head, ok := local[k]
			if !ok {
				local[k] = len(vals)
				vals = append(vals, recallVal{v: val, recallCand: c, next: -1})
				return
			}
			prev := -1
			for x := head; x >= 0; x = vals[x].next {
				if vals[x].v == val {
					return
				}
				if len(vals[x].v) >= len(val) {
					prev = x
				}
			}
			n := recallVal{v: val, recallCand: c, next: head}
			if prev >= 0 {
				n.next = vals[prev].next
				vals[prev].next = len(vals)
			} else {
				local[k] = len(vals)
			}
			vals = append(vals, n)
		})
	}
	if len(local) == 0 && len(vidx) == 0 {
		return regs
	}
	// Lengths of the index keys, as a bit set (64 and more share the top bit): most words are
	// dismissed without a map lookup.
	var lens uint64
	bit := func(n int) uint64 { return 1 << min(n, 63) }
	for k := range local {
		lens |= bit(len(k))
	}
	if v != nil {
		lens |= v.recallLens
	}
	var extra []region // the recalled regions, in text order
	prevEnd, prevShape, prevRecall := -1, uint8(0), false
	nextStart := -1 // where the region after the current gap starts (-1: none)
	// word reports whether text[i:j] is a whole word of the masked text: as recallWord, except
	// that a masked region across a single '.' does not make a number look like the digits of
	// a decimal ("Co00.000000" with Co00 masked): in the masked text that neighbour is a token.
	word := func(i, j int, v string) bool {
		if recallWord(text, i, j, v) {
			return true
		}
		if (i > 0 && isAlnum(text[i-1]) && !escBefore(text, i)) || (j < len(text) && isAlnum(text[j])) {
			return false
		}
		left := leftOK(text, i, v) || (i >= 1 && text[i-1] == '.' && i-1 == prevEnd)
		right := rightOK(text, j, v) || (j < len(text) && text[j] == '.' && j+1 == nextStart)
		return left && right
	}
	// match returns the end and candidate of a value at text[i:], whose first run ends at r.
	match := func(i, r, hi int) (int, recallCand) {
		run := text[i:r]
		if lens&bit(len(run)) == 0 {
			return 0, recallCand{}
		}
		if x, ok := local[run]; ok {
			for ; x >= 0; x = vals[x].next {
				if j := i + len(vals[x].v); j <= hi && text[i:j] == vals[x].v && word(i, j, vals[x].v) {
					return j, vals[x].recallCand
				}
			}
		}
		if vidx != nil {
			for _, e := range vidx[run] {
				val := v.Entries[e].Value
				if j := i + len(val); j <= hi && text[i:j] == val && word(i, j, val) {
					return j, recallCand{kind: kHost, shape: shName} // the vault has its token
				}
			}
		}
		return 0, recallCand{}
	}
	gap := func(lo, hi int, next *region) {
		nextStart = -1
		if next != nil {
			nextStart = next.start
		}
		for i := lo; i < hi; {
			if !isAlnum(text[i]) {
				i++
				continue
			}
			r := i + 1
			for r < hi && isAlnum(text[r]) {
				r++
			}
			st := i
			end, c := match(i, r, hi)
			if end == 0 && i+1 < r && escBefore(text, i+1) { // "\nprod": the word is "prod"
				st = i + 1
				end, c = match(st, r, hi)
			}
			if end == 0 || inScheme(text, st, end) ||
				(st == prevEnd && (prevRecall || !keepsEdges(prevShape))) ||
				(end == hi && next != nil && !keepsEdges(next.shape)) {
				i = r
				continue
			}
			extra = append(extra, region{start: st, end: end, kind: c.kind, shape: c.shape, aux: c.aux})
			prevEnd, prevShape, prevRecall = end, c.shape, true
			i = end
		}
	}
	last := 0
	for k := range regs {
		rg := regs[k]
		gap(last, rg.start, &regs[k])
		prevEnd, prevShape, prevRecall = rg.end, rg.shape, false
		last = rg.end
	}
	gap(last, len(text), nil)
	if len(extra) == 0 {
		return regs
	}
	out := make([]region, 0, len(regs)+len(extra))
	a, b := 0, 0
	for a < len(regs) || b < len(extra) {
		if b == len(extra) || (a < len(regs) && regs[a].start < extra[b].start) {
			out = append(out, regs[a])
			a++
		} else {
			out = append(out, extra[b])
			b++
		}
	}
	return out
}
