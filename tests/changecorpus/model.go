package changecorpus

import (
	"math"
	"math/rand/v2"
	"time"
)

// les are OpenTelemetry's default explicit bucket boundaries for http.server.request.duration
// (seconds); the last bucket is +Inf.
var les = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, math.Inf(1)}

// dist is a response-time distribution: a lognormal body (median, sigma) and, with probability
// tailFrac, a lognormal slow tail (tailMedian, tailSigma). All in seconds.
type dist struct {
	median, sigma         float64
	tailFrac              float64
	tailMedian, tailSigma float64
}

func lognormal(median, sigma float64) dist { return dist{median: median, sigma: sigma} }

// withTail returns d with a slow tail of share frac around median m.
func (d dist) withTail(frac, m, sigma float64) dist {
	d.tailFrac, d.tailMedian, d.tailSigma = frac, m, sigma
	return d
}

// scaled multiplies every response time by f.
func (d dist) scaled(f float64) dist {
	d.median *= f
	d.tailMedian *= f
	return d
}

func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// lnCDF and lnPartial are the CDF and the partial expectation E[X; X<=x] of a lognormal.
func lnCDF(x, median, sigma float64) float64 {
	if math.IsInf(x, 1) {
		return 1
	}
	return phi((math.Log(x) - math.Log(median)) / sigma)
}

func lnPartial(x, median, sigma float64) float64 {
	mu := math.Log(median)
	mean := math.Exp(mu + sigma*sigma/2)
	if math.IsInf(x, 1) {
		return mean
	}
	return mean * phi((math.Log(x)-mu-sigma*sigma)/sigma)
}

// buckets fills p[i] with the probability of a response in bucket i ((les[i-1], les[i]]) and
// m[i] with the mean response time of such a response.
func (d dist) buckets(p, m []float64) {
	prevC, prevE := 0.0, 0.0
	for i, le := range les {
		c := (1 - d.tailFrac) * lnCDF(le, d.median, d.sigma)
		e := (1 - d.tailFrac) * lnPartial(le, d.median, d.sigma)
		if d.tailFrac > 0 {
			c += d.tailFrac * lnCDF(le, d.tailMedian, d.tailSigma)
			e += d.tailFrac * lnPartial(le, d.tailMedian, d.tailSigma)
		}
		p[i] = math.Max(c-prevC, 0)
		if p[i] > 1e-12 {
			m[i] = (e - prevE) / p[i]
		} else {
			lo := 0.0
			if i > 0 {
				lo = les[i-1]
			}
			m[i] = lo
			if !math.IsInf(le, 1) {
				m[i] = (lo + le) / 2
			}
		}
		prevC, prevE = c, e
	}
}

// quantile returns the q-quantile of d (bisection on the CDF), for documentation and tests.
func (d dist) quantile(q float64) float64 {
	cdf := func(x float64) float64 {
		c := (1 - d.tailFrac) * lnCDF(x, d.median, d.sigma)
		if d.tailFrac > 0 {
			c += d.tailFrac * lnCDF(x, d.tailMedian, d.tailSigma)
		}
		return c
	}
	lo, hi := 1e-6, 1e4
	for range 100 {
		mid := math.Sqrt(lo * hi)
		if cdf(mid) < q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// poisson draws a Poisson count with mean lambda (normal approximation above 30).
func poisson(r *rand.Rand, lambda float64) float64 {
	switch {
	case lambda <= 0:
		return 0
	case lambda < 30:
		l, k, p := math.Exp(-lambda), 0.0, 1.0
		for {
			p *= r.Float64()
			if p <= l {
				return k
			}
			k++
		}
	}
	return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64()))
}

// binomial draws a Binomial(n, p) count.
func binomial(r *rand.Rand, n, p float64) float64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case n <= 40:
		k := 0.0
		for i := 0.0; i < n; i++ {
			if r.Float64() < p {
				k++
			}
		}
		return k
	case n*p < 15:
		return math.Min(n, poisson(r, n*p))
	case n*(1-p) < 15:
		return math.Max(0, n-poisson(r, n*(1-p)))
	}
	return math.Min(n, math.Max(0, math.Round(n*p+math.Sqrt(n*p*(1-p))*r.NormFloat64())))
}

// splitmix64 is a 64-bit mixer for the per-minute noise (deterministic from seed and minute,
// whatever the scrape interval).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// minuteFactor is a multiplicative noise factor with mean 1 and coefficient of variation ~cv,
// constant within one minute of the scenario's own clock (rel: time relative to the anchor),
// deterministic from (seed, kind, minute): every run sees the same noise around its anchor.
func minuteFactor(seed uint64, kind uint64, rel time.Duration, cv float64) float64 {
	if cv <= 0 {
		return 1
	}
	m := uint64(int64(math.Floor(rel.Minutes())))
	a := splitmix64(seed ^ kind*0x632be59bd9b4e019 ^ m*0x85ebca6b)
	b := splitmix64(a)
	u1 := (float64(a>>11) + 0.5) / (1 << 53)
	u2 := float64(b>>11) / (1 << 53)
	z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	s := math.Sqrt(math.Log(1 + cv*cv))
	return math.Exp(s*z - s*s/2)
}

// logistic is the standard logistic function.
func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
