package clusterdns

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
)

// The metrics of the answer path; those of the sources and the index are
// in internal/source/metrics.go.
var (
	// negativeAnswerVec counts negative answers by reason.
	negativeAnswerVec = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "negative_answers_total",
		Help:      "Negative answers (NXDOMAIN and NODATA) for names in the plugin's zones, by reason.",
	}, []string{"reason"})

	// negativeAnswers holds the counter of each reason, looked up once, so
	// that counting an answer is one atomic add.
	negativeAnswers = func() (c [answer.NumReasons]prometheus.Counter) {
		for r := answer.ReasonNone + 1; r < answer.NumReasons; r++ {
			c[r] = negativeAnswerVec.WithLabelValues(r.String())
		}
		return c
	}()
)
