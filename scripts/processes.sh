# Sourced by scripts/demo.sh and scripts/serve.sh: stop the processes whose ids are in the array "pids".
# TERM first; the django-q cluster may linger after it, so everything gets 10 s, then what is left is killed.
stop_pids() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
