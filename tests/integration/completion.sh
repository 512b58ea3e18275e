#!/bin/bash
# completion.sh BINDIR - the bash completion: options read from each
# tool's --help, fixed option values, spoolctl's commands and entry names,
# file names elsewhere. Run from the project's top directory.
set -u
BIN=$1
PATH=$BIN:$PATH
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }
# shellcheck source=../../tools/completion/msgtools.bash
. tools/completion/msgtools.bash

# complete WORD...: COMPREPLY for the last word of the command line.
complete_line() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(( $# - 1 ))
    COMPREPLY=()
    _msgtools "$1"
    printf '%s\n' "${COMPREPLY[@]}" | sort
}
has() { grep -qx -- "$2" <<< "$1" || no "$3: '$2' not offered: $(echo $1)"; }
lacks() { grep -qx -- "$2" <<< "$1" && no "$3: '$2' offered"; }

for t in msgcheck msgrewrite msgshow mbox2spool spool2mbox spoolsend smtpreplay smtpsink spoolctl; do
    out=$(complete_line "$t" --)
    has "$out" --help "$t --"
    has "$out" --color "$t --"
    # Every long option of --help is offered.
    for o in $("$t" --help | grep -o -- '^ *\(-[a-z] \[ \)\{0,1\}--[a-z0-9-]*' | grep -o -- '--[a-z0-9-]*'); do
        has "$out" "$o" "$t --"
    done
done
opts=$(_msgtools_options msgrewrite)
has "$opts" "--in-place 0" "msgrewrite: -i takes no value"
has "$opts" "--set 1" "msgrewrite: --set takes a value"
# --add-message-id[=DOMAIN]: the word after it is an input, not its value
has "$opts" "--add-message-id 0" "msgrewrite: --add-message-id takes its value only after '='"
has "$(_msgtools_options spoolsend)" "--jobs 1" "spoolsend: -j takes a value"
lacks "$(_msgtools_options spoolsend)" "--auth-user 0" "spoolsend: the examples are not options"
has "$(complete_line msgcheck --for)" --format "msgcheck --for"
out=$(complete_line msgcheck --format s)
has "$out" sarif "msgcheck --format s"
[ "$(echo "$out" | wc -l)" -eq 1 ] || no "msgcheck --format s: only sarif: $out"
has "$(complete_line msgcheck --color=al)" --color=always "msgcheck --color=al"
has "$(complete_line spoolsend --tls '')" starttls "spoolsend --tls"
has "$(complete_line msgcheck --ignore line.lo)" line.long "msgcheck --ignore (defect codes)"
has "$(complete_line spoolctl '')" hold "spoolctl (commands)"
has "$(complete_line spoolctl list --state d)" deferred "spoolctl --state"

# Entry names of the spool named on the line; files elsewhere.
mbox2spool -q testdata/mbox/mboxrd/archive.mbox "$T/sp" || no "mbox2spool"
first=$(ls "$T/sp/queue" | head -n 1)
has "$(complete_line spoolctl hold "$T/sp" "${first:0:8}")" "$first" "spoolctl hold SPOOL (entry names)"
touch "$T/one.eml"
has "$(complete_line msgcheck "$T/o")" "$T/one.eml" "msgcheck (files)"
has "$(complete_line msgcheck --mbox "$T/o")" "$T/one.eml" "msgcheck --mbox (files)"
exit $fail
