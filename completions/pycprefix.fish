# fish completion for pycprefix(1): commands, each command's options (as
# its --help lists them; the suite checks that they agree), and option
# values: --python (what 'pycprefix pythons' lists, and all), levels,
# --invalidation-mode, --check-hash-based-pycs, --shell, --tags= (the
# cache tags in the prefix, from 'pycprefix du --json'), paths.
#
# Completing runs only 'pycprefix pythons' (its probe cache) and
# 'pycprefix du', which read: nothing is ever written into the prefix.
#
# Enable: source this file, or copy it to ~/.config/fish/completions/;
# installed as $datadir/fish/vendor_completions.d/pycprefix.fish.

set -l __pycprefix_commands compile compileall status prune clean migrate du doctor path show pythons env run help

# The line as pycprefix reads it: the command (the first word that is no
# option nor the value of --prefix or --python), or "run:" once run's
# COMMAND is there, followed by COMMAND and its words.
function __pycprefix_parse
    set -l words (commandline -opc)
    set -e words[1]
    set -l cmd
    while set -q words[1]
        switch $words[1]
            case --prefix --python
                set -e words[1]
            case --
                if test "$cmd" = run
                    set -e words[1]
                    printf '%s\n' run: $words
                    return
                end
            case '-*'
            case '*'
                if test "$cmd" = run
                    printf '%s\n' run: $words
                    return
                end
                set cmd $words[1]
                test "$cmd" = run; or break
        end
        set -e words[1]
    end
    echo $cmd
end

function __pycprefix_command
    set -l parsed (__pycprefix_parse)
    echo $parsed[1]
end

# run's COMMAND and its arguments, completed as that command's.
function __pycprefix_run_args
    set -l words (__pycprefix_parse)
    set -e words[1]
    if not set -q words[1]
        __fish_complete_command (commandline -ct)
    else
        complete -C (string join ' ' -- (string escape -- $words) (commandline -ct))
    end
end

# True when the command on the line is one of $argv ('' for none yet).
function __pycprefix_using
    set -l cmd (__pycprefix_command)
    contains -- "$cmd" $argv
end

# The command typed, to ask it (pycprefix when it is not one); false when
# neither is there.
function __pycprefix_bin
    set -l bin (commandline -opc)[1]
    command -q -- $bin; or set bin pycprefix
    command -q -- $bin; and echo $bin
end

# --python: all, and each version and cache tag 'pycprefix pythons' lists.
function __pycprefix_pythons
    printf '%s\t%s\n' all 'every interpreter pycprefix pythons lists'
    set -l bin (__pycprefix_bin); or return
    command $bin pythons -q 2>/dev/null | while read -l ver tag magic exe
        printf '%s\t%s\n' $ver $exe $tag $exe
    end
end

# --tags=LIST: the tags 'pycprefix du --json' finds in the prefix (the
# last --prefix on the line, if any), after those already listed.
function __pycprefix_tags
    set -l words (commandline -opc)
    set -l prefix
    set -l i 2
    while test $i -le (count $words)
        switch $words[$i]
            case --prefix
                set i (math $i + 1)
                set -q words[$i]; and set prefix $words[$i]
            case '--prefix=?*'
                set prefix (string replace -- --prefix= '' $words[$i])
        end
        set i (math $i + 1)
    end
    set -l opt
    test -n "$prefix"; and set opt --prefix (string replace -r '^~/' ~/ -- $prefix)
    set -l bin (__pycprefix_bin); or return
    set -l json (command $bin $opt du --json 2>/dev/null)
    string match -q -- '*"tags": [*' "$json"; or return 1
    set -l tags (string replace -r '.*?"tags": \[([^]]*)\].*' '$1' -- "$json" |
        string match -ar '"key": "[^"]*"' | string replace -r '"key": "(.*)"' '$1')
    set -l cur (commandline -ct | string replace -r '^--tags=' '')
    set -l before (string replace -r '[^,]*$' '' -- $cur)
    for t in $tags
        contains -- $t (string split , -- $before); or echo --tags=$before$t
    end
end

complete -c pycprefix -f

# Commands, and help COMMAND.
complete -c pycprefix -n "__pycprefix_using ''" -a compile -d 'Precompile sources into the prefix'
complete -c pycprefix -n "__pycprefix_using ''" -a compileall -d 'python -m compileall, faster'
complete -c pycprefix -n "__pycprefix_using ''" -a status -d 'Which pycs Python would use, recompile, or never need'
complete -c pycprefix -n "__pycprefix_using ''" -a prune -d 'Remove what is dead from the prefix'
complete -c pycprefix -n "__pycprefix_using ''" -a clean -d 'Remove __pycache__ folders and legacy pycs'
complete -c pycprefix -n "__pycprefix_using ''" -a migrate -d 'Move fresh in-tree pycs into the prefix'
complete -c pycprefix -n "__pycprefix_using ''" -a du -d "Where the prefix's space goes"
complete -c pycprefix -n "__pycprefix_using ''" -a doctor -d 'Check that the prefix is safe and wired up'
complete -c pycprefix -n "__pycprefix_using ''" -a path -d 'Where the interpreter reads and writes bytecode'
complete -c pycprefix -n "__pycprefix_using ''" -a show -d 'Decode pyc headers'
complete -c pycprefix -n "__pycprefix_using ''" -a pythons -d 'The interpreters found on this machine'
complete -c pycprefix -n "__pycprefix_using ''" -a env -d 'The shell line that sets PYTHONPYCACHEPREFIX'
complete -c pycprefix -n "__pycprefix_using ''" -a run -d 'Run COMMAND with PYTHONPYCACHEPREFIX set'
complete -c pycprefix -n "__pycprefix_using ''" -a help -d 'The help of a command'
complete -c pycprefix -n "__pycprefix_using help; and test (count (commandline -opc)) -le 2" -a "$__pycprefix_commands"

# Common options: before the command (all), after it (those it takes).
complete -c pycprefix -n "__pycprefix_using '' compile status prune migrate du doctor path show env run" -l prefix -x -a '(__fish_complete_directories (commandline -ct))' -d 'The cache prefix'
complete -c pycprefix -n "__pycprefix_using '' compile status path show env run" -l in-tree -d 'No prefix: __pycache__ beside the sources'
complete -c pycprefix -n "__pycprefix_using '' compile compileall status prune migrate doctor path show" -l python -x -a '(__pycprefix_pythons)' -d 'An interpreter (repeatable)'
complete -c pycprefix -n "__pycprefix_using '' compile status prune clean migrate du doctor path show pythons env" -l json -d 'Machine-readable output on stdout'
complete -c pycprefix -n "__pycprefix_using '' compile status prune clean migrate doctor pythons env run" -s q -l quiet -d 'Only the data and the errors'
complete -c pycprefix -n "__pycprefix_using '' compile status prune clean migrate" -s v -l verbose -d 'Also each file changed; -vv: each pyc'
complete -c pycprefix -n "__pycprefix_using '' compile status prune clean migrate du doctor path show pythons env run" -s h -l help -d 'The help'
complete -c pycprefix -n "__pycprefix_using ''" -s V -l version -d 'The version'

# compile
complete -c pycprefix -n '__pycprefix_using compile' -s j -l jobs -x -d 'Worker processes per interpreter (0: one per core)'
complete -c pycprefix -n '__pycprefix_using compile status path' -s O -x -a '0 1 2' -d 'Optimization level (repeatable)'
complete -c pycprefix -n '__pycprefix_using compile' -s f -l force -d 'Rebuild even fresh pycs'
complete -c pycprefix -n '__pycprefix_using compile compileall' -l invalidation-mode -x -a 'timestamp checked-hash unchecked-hash' -d 'How pycs are invalidated'
complete -c pycprefix -n '__pycprefix_using compile' -s x -x -d 'Skip sources whose path matches REGEX'
complete -c pycprefix -n '__pycprefix_using compile' -l exclude -x -d 'Skip files and directories matching GLOB'
complete -c pycprefix -n '__pycprefix_using compile status prune' -l sys-path -d "The interpreter's sys.path instead of PATHs"
complete -c pycprefix -n '__pycprefix_using compile status' -l strict -d 'With --sys-path, sources that do not compile count'
complete -c pycprefix -n '__pycprefix_using compile prune clean migrate' -s n -l dry-run -d 'List what would be done, do nothing'
complete -c pycprefix -n '__pycprefix_using compile compileall' -l hardlink-dupes -d 'Equal pycs of several levels share a file'
complete -c pycprefix -n '__pycprefix_using compile status' -l follow-symlinks -d 'Descend into symlinked directories'
complete -c pycprefix -n '__pycprefix_using compile' -l timeout -x -d 'Give up on one file after SEC seconds'
complete -c pycprefix -n '__pycprefix_using compile migrate' -l force-insecure -d 'Write even when others can change the prefix'
complete -c pycprefix -n '__pycprefix_using compile' -l store -x -a '(__fish_complete_directories (commandline -ct))' -d 'The shared bytecode store'
complete -c pycprefix -n '__pycprefix_using compile' -l no-store -d 'Use no bytecode store'

# compileall: python -m compileall's options
complete -c pycprefix -n '__pycprefix_using compile compileall' -s l -d 'Do not recurse into subdirectories'
complete -c pycprefix -n '__pycprefix_using compile compileall' -s r -x -d 'Recursion depth'
complete -c pycprefix -n '__pycprefix_using compileall' -s f -d 'Force rebuild even if timestamps are up to date'
complete -c pycprefix -n '__pycprefix_using compileall' -s q -d 'Output only errors; -qq: suppress them too'
complete -c pycprefix -n '__pycprefix_using compileall' -s b -d 'Legacy pyc beside the source'
complete -c pycprefix -n '__pycprefix_using compile compileall' -s d -x -a '(__fish_complete_directories (commandline -ct))' -d 'Directory prepended to the compiled filename'
complete -c pycprefix -n '__pycprefix_using compile compileall' -s s -x -a '(__fish_complete_directories (commandline -ct))' -d 'Prefix stripped from the compiled filename'
complete -c pycprefix -n '__pycprefix_using compile compileall' -s p -x -a '(__fish_complete_directories (commandline -ct))' -d 'Prefix prepended to the compiled filename'
complete -c pycprefix -n '__pycprefix_using compileall' -s x -x -d 'Skip files matching the regular expression'
complete -c pycprefix -n '__pycprefix_using compile compileall' -s i -r -F -d 'Compile the files listed in FILE (- for stdin)'
complete -c pycprefix -n '__pycprefix_using compile compileall' -s e -x -a '(__fish_complete_directories (commandline -ct))' -d 'Refuse symlinks pointing outside DIR'
complete -c pycprefix -n '__pycprefix_using compileall' -s j -l workers -x -d 'Workers (0: one per core)'
complete -c pycprefix -n '__pycprefix_using compileall' -s o -x -a '0 1 2' -d 'Optimization level (repeatable)'
complete -c pycprefix -n '__pycprefix_using compileall' -l python-flag -x -a '-B -E -I -O -OO -P -R -S -s -u -X' -d 'An interpreter flag (repeatable)'
complete -c pycprefix -n '__pycprefix_using compileall' -s h -l help -d 'The help'

# status and show
complete -c pycprefix -n '__pycprefix_using status' -l check -d 'Exit 1 if anything is stale, missing or broken'
complete -c pycprefix -n '__pycprefix_using status show' -l check-hash-based-pycs -x -a 'default always never' -d "As python's option"

# prune
# --tags takes its LIST only as --tags=LIST: a word after it is a PATH.
complete -c pycprefix -n '__pycprefix_using prune' -l tags -d 'Also pycs of tags not installed, or of LIST'
complete -c pycprefix -n '__pycprefix_using prune; and string match -q -- "--tags=*" (commandline -ct)' -a '(__pycprefix_tags)' -d 'Cache tag'
complete -c pycprefix -n '__pycprefix_using prune' -l max-size -x -d 'Evict least recently used pycs down to SIZE'
complete -c pycprefix -n '__pycprefix_using prune' -l older-than -x -d 'Pycs not used for AGE'
complete -c pycprefix -n '__pycprefix_using prune' -l store-age -x -d 'Store objects no pyc links to, not used for AGE'
complete -c pycprefix -n '__pycprefix_using prune' -l store -x -a '(__fish_complete_directories (commandline -ct))' -d 'Prune the store at DIR alone'

# clean
complete -c pycprefix -n '__pycprefix_using clean' -l sourceless -d 'Also sourceless .pyc/.pyo files'

# du
complete -c pycprefix -n '__pycprefix_using du' -s d -l depth -x -d 'By directory, N levels deep'

# path
complete -c pycprefix -n '__pycprefix_using path' -s r -l reverse -d 'FILEs are pycs: print their sources'
complete -c pycprefix -n '__pycprefix_using path' -s z -l null -d 'End each path with NUL'

# pythons
complete -c pycprefix -n '__pycprefix_using pythons' -s a -l all -d 'Also interpreters that cannot be used'

# env
complete -c pycprefix -n '__pycprefix_using env' -l shell -x -a 'sh bash zsh fish csh' -d 'The syntax of SHELL'

# Operands: paths, or run's COMMAND and its arguments.
complete -c pycprefix -n '__pycprefix_using compile compileall status prune clean migrate doctor path show; and not string match -q -- "-*" (commandline -ct)' -F
complete -c pycprefix -n '__pycprefix_using run' -a '(__fish_complete_command (commandline -ct))'
complete -c pycprefix -n '__pycprefix_using run:' -x -a '(__pycprefix_run_args)'
