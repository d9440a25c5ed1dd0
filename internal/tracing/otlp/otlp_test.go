package otlp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/tracing/otlp"
)

// env is a fake environment: tests must not read or change the process's.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func TestEnabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  env
		want bool
	}{
		{"nothing set", env{}, false},
		{"endpoint", env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{"traces endpoint", env{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{"exporter otlp", env{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{"exporter none wins", env{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, false},
		{"sdk disabled wins", env{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, false},
		{"only a protocol", env{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := otlp.Enabled(tc.env.get); got != tc.want {
				t.Errorf("Enabled(%v) = %v; want %v", tc.env, got, tc.want)
			}
		})
	}
}

// TestNewRefuses: what this build cannot do is a clear start-up error,
// not a server that silently traces nowhere.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, want string
		env        env
	}{
		{"zipkin", "OTEL_TRACES_EXPORTER \"zipkin\": only otlp", env{"OTEL_TRACES_EXPORTER": "zipkin"}},
		{"grpc", "OTEL_EXPORTER_OTLP_PROTOCOL \"grpc\": only http/protobuf", env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
		{"grpc for traces", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL \"grpc\"", env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp, err := otlp.New(context.Background(), tc.env.get, "test")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, %v; want an error with %q", tp, err, tc.want)
			}
		})
	}
	// Off is no provider and no error.
	if tp, err := otlp.New(context.Background(), env{}.get, "test"); tp != nil || err != nil {
		t.Errorf("New with nothing set: %v, %v; want nil, nil", tp, err)
	}
}
