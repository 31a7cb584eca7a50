# tidy.awk - make scdoc's roff what mandoc -Tlint calls clean, changing
# nothing a reader sees:
# - drop the paragraph macros scdoc emits where a paragraph cannot start
#   (right after .TH, .SH, .SS, .RS or another paragraph macro, or right
#   before a heading or the end of the page; one right before the end of
#   an indent moves after it, where groff and mandoc both show it);
# - break text lines longer than 80 bytes at a space (in filled text a
#   newline is a space), never in a literal block (.nf to .fi), never
#   before a '.' or a "'" (a request), never at an escaped space;
# - no hyphenation (.nh again after .TH).
# The Makefile runs scdoc < doc/X.scd, then awk -f doc/tidy.awk.
function opens(l)  { return l ~ /^\.(TH|SH|SS|P|PP|RS)( |$)/ }
function closes(l) { return l ~ /^\.(SH|SS|P|PP|RE)( |$)/ }
function emit(l,    i, cut) {
	while (!literal && l !~ /^[.']/ && length(l) > 80) {
		cut = 0
		for (i = 80; i > 1; i--)
			if (substr(l, i, 1) == " " && substr(l, i - 1, 1) != "\\" &&
			    substr(l, i + 1, 1) !~ /[.' ]/ && i < length(l)) {
				cut = i
				break
			}
		if (!cut)
			break
		print substr(l, 1, cut - 1)
		l = substr(l, cut + 1)
	}
	print l
	if (l ~ /^\.nf( |$)/)
		literal = 1
	else if (l ~ /^\.fi( |$)/)
		literal = 0
	last = l
}
{
	if ($0 == ".P") {
		if (!opens(last))
			held = 1
		next
	}
	if (held && $0 ~ /^\.RE( |$)/) {
		emit($0)	# the paragraph break moves after the indent
		next
	}
	if (held && !closes($0))
		emit(".P")
	held = 0
	emit($0)
	# No hyphenation (scdoc's .nh comes before .TH, which undoes it in
	# groff): a command name is not to be split across lines.
	if ($0 ~ /^\.TH /)
		emit(".nh")
}
