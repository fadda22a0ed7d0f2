package jobs

import (
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// redisOpt parses a redis:// (or rediss://, redis-sentinel://) URL for
// asynq with short network timeouts, so an unreachable Redis is noticed in
// seconds rather than stalling callers.
func redisOpt(url string) (asynq.RedisConnOpt, error) {
	opt, err := asynq.ParseRedisURI(url)
	if err != nil {
		return nil, fmt.Errorf("%w: redis url: %w", ErrConfig, err)
	}
	if o, ok := opt.(asynq.RedisClientOpt); ok {
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 2*time.Second, 3*time.Second, 3*time.Second
		return o, nil
	}
	return opt, nil
}
