# bash completion for pycprefix(1)                       -*- shell-script -*-
#
# Commands, each command's options (as its --help lists them; the suite
# checks that they agree), and option values: --python (what 'pycprefix
# pythons' lists, and all), -O and -o levels, --invalidation-mode,
# --check-hash-based-pycs, --shell, --tags= (the cache tags in the prefix,
# from 'pycprefix du --json'), directories and files.
#
# Uses bash-completion's helpers (_init_completion, _filedir,
# _command_offset) when they are loaded, and works without them.
# Completing runs only 'pycprefix pythons' (its probe cache) and
# 'pycprefix du', which read: nothing is ever written into the prefix.
#
# Enable: source this file, or install it as
# $datadir/bash-completion/completions/pycprefix.

_pycprefix_commands='compile compileall status prune clean migrate du
doctor path show pythons env run'

# The options of command $1 (none: those before the command).
_pycprefix_options()
{
	local help='-h --help' json='--json' quiet='-q --quiet'
	local verbose='-v --verbose' prefix='--prefix' tree='--in-tree'
	local python='--python'
	case $1 in
	'') echo "$prefix $tree $python $json $quiet $verbose $help" \
		 '-V --version' ;;
	compile) echo '-j --jobs -O -f --force --invalidation-mode -x' \
		      '--exclude -i -l -r -d -s -p -e' \
		      '--sys-path --strict -n --dry-run' \
		      '--hardlink-dupes --follow-symlinks --timeout' \
		      "--force-insecure --store --no-store $prefix $tree" \
		      "$python $json $quiet" \
		      "$verbose $help" ;;
	compileall) echo '-l -r -f -q -b -d -s -p -x -i -e -j --workers -o' \
			 '--invalidation-mode --hardlink-dupes --python' \
			 "--python-flag $help" ;;
	status) echo '-O --check --check-hash-based-pycs --follow-symlinks' \
		     "--sys-path --strict $prefix $tree $python $json" \
		     "$quiet $verbose $help" ;;
	prune) echo '-n --dry-run --tags --max-size --older-than --store-age' \
		    '--store' \
		    "--sys-path $prefix $python $json $quiet $verbose $help" ;;
	clean) echo "-n --dry-run --sourceless $json $quiet $verbose $help" ;;
	migrate) echo "-n --dry-run --force-insecure $prefix $python $json" \
		      "$quiet $verbose $help" ;;
	du) echo "-d --depth $prefix $json $help" ;;
	doctor) echo "$prefix $python $json $quiet $help" ;;
	path) echo "-O -r --reverse -z --null $prefix $tree $python $json" \
		   "$help" ;;
	show) echo "--check-hash-based-pycs $prefix $tree $python $json" \
		   "$help" ;;
	pythons) echo "-a --all $json $quiet $help" ;;
	env) echo "--shell $prefix $tree $json $quiet $help" ;;
	run) echo "$prefix $tree $quiet $help" ;;
	esac
}

# The command the user typed, to ask it (a ~ spelt out), else pycprefix.
_pycprefix_bin()
{
	local bin=${COMP_WORDS[0]}
	[[ $bin == \~/* ]] && bin=$HOME/${bin#\~/}
	type -P -- "$bin" >/dev/null 2>&1 || bin=pycprefix
	printf '%s\n' "$bin"
}

# The value of the last --prefix on the line (words $1...), if any.
_pycprefix_prefix_opt()
{
	local w next=false value=
	for w in "$@"; do
		if $next; then
			value=$w
			next=false
		elif [[ $w == --prefix ]]; then
			next=true
		elif [[ $w == --prefix=?* ]]; then
			value=${w#--prefix=}
		fi
	done
	[[ $value == \~/* ]] && value=$HOME/${value#\~/}
	printf '%s\n' "$value"
}

_pycprefix_words()
{
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

# Paths: directories with $1 = -d, else files and directories.
_pycprefix_paths()
{
	if declare -F _filedir >/dev/null; then
		_filedir "$@"
		return
	fi
	compopt -o filenames 2>/dev/null
	if [[ ${1-} == -d ]]; then
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

# --python: all, and each version and cache tag 'pycprefix pythons' lists;
# a path when the word looks like one.
_pycprefix_pythons()
{
	if [[ $cur == */* || $cur == '~'* ]]; then
		_pycprefix_paths
		return
	fi
	local version tag rest list='all'
	while read -r version tag rest; do
		[[ " $list " == *" $version "* ]] || list+=" $version"
		[[ " $list " == *" $tag "* ]] || list+=" $tag"
	done < <("$(_pycprefix_bin)" pythons -q 2>/dev/null)
	_pycprefix_words "$list"
}

# --tags=LIST: the tags 'pycprefix du --json' finds in the prefix, after
# those already listed (comma-separated).
_pycprefix_tags()
{
	local json prefix before='' last=$cur tags=''
	prefix=$(_pycprefix_prefix_opt "${words[@]:1:cword-1}")
	json=$("$(_pycprefix_bin)" ${prefix:+--prefix "$prefix"} du --json \
	       2>/dev/null)
	[[ $json == *'"tags": ['* ]] || return
	json=${json#*'"tags": ['}
	json=${json%%']'*}
	if [[ $cur == *,* ]]; then
		before=${cur%,*},
		last=${cur##*,}
	fi
	while [[ $json =~ \"key\":\ \"([^\"]*)\" ]]; do
		[[ ,$before == *,"${BASH_REMATCH[1]}",* ]] ||
			tags+=" ${BASH_REMATCH[1]}"
		json=${json#*"${BASH_REMATCH[0]}"}
	done
	mapfile -t COMPREPLY < <(compgen -P "$before" -W "$tags" -- "$last")
}

# The value of option $2 of command $1 into COMPREPLY; 1 when $2 takes no
# value (or its value is not to be completed as a separate word).
_pycprefix_value()
{
	case $1:$2 in
	*:--prefix | compileall:-[dspe] | compile:-[dspe] | compile:--store | \
	prune:--store)
		_pycprefix_paths -d ;;
	compileall:-i | compile:-i) _pycprefix_paths ;;
	*:--python) _pycprefix_pythons ;;
	compile:-O | status:-O | path:-O | compileall:-o)
		_pycprefix_words '0 1 2' ;;
	compile:--invalidation-mode | compileall:--invalidation-mode)
		_pycprefix_words 'timestamp checked-hash unchecked-hash' ;;
	status:--check-hash-based-pycs | show:--check-hash-based-pycs)
		_pycprefix_words 'default always never' ;;
	env:--shell) _pycprefix_words 'sh bash zsh fish csh' ;;
	compileall:--python-flag)
		_pycprefix_words '-B -E -I -O -OO -P -R -S -s -u -X' ;;
	prune:--tags) $split && _pycprefix_tags || return 1 ;;
	compile:-j | compile:--jobs | compile:-x | compile:--exclude | \
	compile:--timeout | compile:-r | prune:--max-size | prune:--older-than | \
	prune:--store-age | \
	du:-d | du:--depth | compileall:-[rjx] | compileall:--workers)
		;; # a number, a pattern, a size: nothing to offer
	*) return 1 ;;
	esac
	return 0
}

# Words of the line (words, cword, cur, prev, split) without
# bash-completion: '--opt=value' is one word again, then split.
_pycprefix_init()
{
	local i w
	words=()
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		if ((${#words[@]} > 1)) && [[ $w == = || ${words[-1]} == *= ]] &&
			[[ ${words[-1]} == --* ]]; then
			words[-1]+=$w
		else
			words+=("$w")
		fi
		((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
	done
	cur=${words[cword]}
	prev=${words[cword - 1]}
	split=false
	if [[ $cur == --?*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
		split=true
	fi
}

# The index in COMP_WORDS of run's COMMAND, when the word being completed
# is it or after it; else 0.  (COMP_WORDS, as _command_offset counts:
# '--prefix=DIR' may be three words there.)
_pycprefix_run_offset()
{
	local i run=false
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--prefix | --python)
			[[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
			((i++))
			;;
		--) $run && echo $((i + 1)) && return ;;
		-*) ;;
		*)
			$run && echo $i && return
			[[ ${COMP_WORDS[i]} == run ]] || break
			run=true
			;;
		esac
	done
	if $run && ((i == COMP_CWORD)) && [[ ${COMP_WORDS[i]} != -* ]]; then
		echo $i
	else
		echo 0
	fi
}

_pycprefix()
{
	local cur prev words cword split
	if declare -F _init_completion >/dev/null; then
		_init_completion -s || return
	else
		_pycprefix_init
	fi

	# The command: the first word that is no option nor an option's value.
	local i cmd='' at=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--prefix | --python) ((i++)) ;;
		-*) ;;
		*)
			cmd=${words[i]}
			at=$i
			break
			;;
		esac
	done

	if [[ $cmd == help ]]; then
		((cword == at + 1)) && _pycprefix_words "$_pycprefix_commands"
		return
	fi
	if [[ $cmd == run ]]; then
		# From COMMAND on, the line is COMMAND's.
		local j
		j=$(_pycprefix_run_offset)
		if ((j)); then
			if declare -F _command_offset >/dev/null; then
				_command_offset "$j"
			elif ((j == COMP_CWORD)); then
				mapfile -t COMPREPLY < <(compgen -c -- "$cur")
			else
				_pycprefix_paths
			fi
			return
		fi
	fi

	_pycprefix_value "$cmd" "$prev" && return
	$split && return

	if [[ $cur == -* ]]; then
		_pycprefix_words "$(_pycprefix_options "$cmd")"
		return
	fi
	case $cmd in
	'') _pycprefix_words "$_pycprefix_commands help" ;;
	du | pythons | env) ;;
	run) mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
	*) _pycprefix_paths ;;
	esac
}

complete -F _pycprefix pycprefix
