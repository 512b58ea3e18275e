# bash completion for the msgtools commands: msgcheck, msgrewrite, msgshow,
# mbox2spool, spool2mbox, spoolsend, smtpreplay, smtpsink, spoolctl.
#
# Options come from the command's own --help (read once per shell), so
# they never fall behind the program; option values that are a fixed set
# (--format, --color, --tls, --state, ...) and spoolctl's commands and
# entry names are completed too; everything else completes file names.

_msgtools_options() {
    # "NAME VALUE?" per long option: VALUE is 1 when the option takes one.
    local cmd=$1 var
    var="_msgtools_opts_${cmd//[^a-zA-Z0-9]/_}"
    if [[ -z ${!var-} ]]; then
        # An option followed by one space and a word takes a value; one
        # followed by two spaces (its description) or nothing does not, nor
        # one followed by [=VALUE], whose value comes only after '='.
        printf -v "$var" '%s' "$("$cmd" --help 2>/dev/null | sed -n \
            -e 's/^ \{1,4\}\(-[a-zA-Z] \[ \)\{0,1\}\(--[a-z0-9][a-z0-9-]*\)\( \]\)\{0,1\} [^] ].*/\2 1/p' \
            -e 's/^ \{1,4\}\(-[a-zA-Z] \[ \)\{0,1\}\(--[a-z0-9][a-z0-9-]*\)\( \]\)\{0,1\}\(  .*\)\{0,1\}$/\2 0/p' \
            -e 's/^ \{1,4\}\(--[a-z0-9][a-z0-9-]*\)\[=[^] ]*\]  .*/\1 0/p')"
    fi
    printf '%s\n' "${!var}"
}

_msgtools_values() {
    # The fixed values of an option, if it has a fixed set.
    local cmd=$1 opt=$2
    case $opt in
        --color) echo "auto always never" ;;
        --format)
            case $cmd in
                msgcheck) echo "text json sarif mboxrd mboxo mboxcl mboxcl2 detect" ;;
                smtpreplay) echo "cs swaks bsmtp native" ;;
                spool2mbox) echo "mboxrd mboxo mboxcl mboxcl2" ;;
                *) echo "mboxrd mboxo mboxcl mboxcl2 detect" ;;
            esac ;;
        --convert) echo "cs swaks bsmtp native" ;;
        --match) echo "class code enhanced text" ;;
        --tls) echo "none starttls tls" ;;
        --tls-verify) echo "yes no" ;;
        --state) echo "queue deferred hold sent failed" ;;
        --select|--ignore|--explain)
            "$cmd" --list 2>/dev/null | cut -f1 | tr '\n' ' ' ;;
    esac
}

_msgtools() {
    local cmd=${1##*/} cur=${COMP_WORDS[COMP_CWORD]} prev=
    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
    local line name takes values
    COMPREPLY=()

    # The value of an option that takes one.
    if [[ $prev == --* ]]; then
        while read -r name takes; do
            if [[ $name == "$prev" && $takes == 1 ]]; then
                values=$(_msgtools_values "$cmd" "$prev")
                if [[ -n $values ]]; then
                    mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur")
                else
                    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                fi
                return 0
            fi
        done < <(_msgtools_options "$1")
    fi
    if [[ $cur == --*=* ]]; then
        values=$(_msgtools_values "$cmd" "${cur%%=*}")
        [[ -n $values ]] && mapfile -t COMPREPLY < <(compgen -P "${cur%%=*}=" -W "$values" -- "${cur#*=}")
        return 0
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_msgtools_options "$1" | cut -d' ' -f1)" -- "$cur")
        return 0
    fi

    if [[ $cmd == spoolctl ]]; then
        # spoolctl COMMAND [options] SPOOL [NAME...|FILE]
        local i word command= spool= nonopt=0
        for (( i = 1; i < COMP_CWORD; i++ )); do
            word=${COMP_WORDS[i]}
            [[ $word == -* ]] && continue
            case ${COMP_WORDS[i-1]} in --state|--sender|--rcpt|--color) continue ;; esac
            (( nonopt++ ))
            if (( nonopt == 1 )); then command=$word; elif (( nonopt == 2 )); then spool=$word; fi
        done
        if [[ -z $command ]]; then
            mapfile -t COMPREPLY < <(compgen -W "list show add retry hold release remove" -- "$cur")
            return 0
        fi
        if [[ -n $spool && $command != add && $command != list && -d $spool ]]; then
            local names=
            for word in queue deferred hold sent failed; do
                [[ -d $spool/$word ]] && names+=" $(cd "$spool/$word" && ls -1 2>/dev/null | grep -v '\.\(report\|json\|dsn\)$')"
            done
            mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur")
            return 0
        fi
    fi
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return 0
}

complete -o filenames -F _msgtools msgcheck msgrewrite msgshow mbox2spool spool2mbox spoolsend smtpreplay smtpsink spoolctl
