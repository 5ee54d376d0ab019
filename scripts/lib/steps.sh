# Step lines and a timing summary for the scripts (sourced, not run).
#   step "what" command args...   prints "==> [elapsed] what", runs the command, records its time
#   quietly "what" command args...  the same, with the command's output kept in a log that is
#                                   printed only if it fails (for apt and npm chatter)
# The summary is printed when the script exits, also when a step failed.

_steps_start=$(date +%s)
_steps=()
_on_exit=()

# on_exit command...: run when the script exits (before the summary), also after a failure.
on_exit() { _on_exit+=("$*"); }

_clock() {
  local s=$(( $(date +%s) - _steps_start ))
  printf '%d:%02d' $((s / 60)) $((s % 60))
}

_steps_summary() {
  local rc=$? hook
  for hook in "${_on_exit[@]}"; do eval "$hook" || true; done
  if [ ${#_steps[@]} -gt 0 ]; then
    echo
    echo "==> step times ($(basename "$0"), total $(_clock)):"
    printf '    %s\n' "${_steps[@]}"
  fi
  return $rc
}
trap _steps_summary EXIT

_record() {
  local name=$1 began=$2 status=$3
  local s=$(( $(date +%s) - began ))
  _steps+=("$(printf '%4d:%02d  %s%s' $((s / 60)) $((s % 60)) "$name" "$status")")
}

step() {
  local name=$1 began
  shift
  echo "==> [$(_clock)] $name"
  began=$(date +%s)
  if "$@"; then
    _record "$name" "$began" ""
  else
    local rc=$?
    _record "$name" "$began" "  (FAILED, exit $rc)"
    return $rc
  fi
}

quietly() {
  local name=$1 log
  shift
  log=$(mktemp)
  # shellcheck disable=SC2317  # called through step
  _quiet() { "$@" >"$log" 2>&1 || { local rc=$?; cat "$log" >&2; return $rc; }; }
  step "$name" _quiet "$@"
  local rc=$?
  rm -f "$log"
  return $rc
}
