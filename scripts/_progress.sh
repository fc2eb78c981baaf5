# Progress for long setup steps; sourced by the scripts in this folder (not run on its own).
#
#   run_with_progress LABEL LOGFILE COMMAND [ARGS...]
#
# Runs COMMAND with its output in LOGFILE and, while it runs, prints a line to stderr every
# PROGRESS_EVERY seconds (default 15): LABEL, the time so far and COMMAND's latest step as its log
# shows it (pip's "Collecting/Building/Installing" lines, cmake's "[ 42%] Building ..." lines).
# Returns COMMAND's exit code; on failure the end of LOGFILE goes to stderr.

_progress_step() {
    grep -E '^(Collecting|Downloading|Building|Installing|Successfully|Processing|Preparing|Obtaining)|\[ *[0-9]+%\]' "$1" 2>/dev/null \
        | tail -n 1 | sed -E 's/^[[:space:]]+//' | cut -c1-90 || true
}

run_with_progress() {
    local label="$1" log="$2"
    shift 2
    local every="${PROGRESS_EVERY:-15}" start=$SECONDS last=$SECONDS rc=0 pid step
    "$@" >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if (( SECONDS - last >= every )) && kill -0 "$pid" 2>/dev/null; then
            last=$SECONDS
            step=$(_progress_step "$log")
            printf '[%s] %dm%02ds so far%s\n' "$label" $(( (SECONDS - start) / 60 )) \
                $(( (SECONDS - start) % 60 )) "${step:+ - $step}" >&2
        fi
    done
    wait "$pid" || rc=$?
    if (( rc != 0 )); then
        printf '[%s] failed (exit %d); last lines of %s:\n' "$label" "$rc" "$log" >&2
        tail -n 20 "$log" >&2
    fi
    return "$rc"
}
