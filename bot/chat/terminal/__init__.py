"""`newsbrief chat`: the conversation core in a terminal, exactly as a Telegram user meets it.

Commands are typed as in Telegram (`/subscribe`, `/brief`, `/addsource URL` with `--admin`…), any
other line is a question, and `> TEXT` replies to the last answer (a follow-up). A reply's buttons are
numbered: typing the number presses the button. Nothing here knows the database: every line becomes
a Request for bot.conversation, every Reply is printed as plain text.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.briefs.compose import render_text
from bot.context import Context
from bot.conversation import DEFAULT_COMMANDS, DEFAULT_SYNTAX, Button, Conversation, Reply, Request
from bot.qa.model import render_answer

PLATFORM = "terminal"
COMMANDS = DEFAULT_COMMANDS
PROMPT = "› "


def render(reply: Reply) -> str:
    """A Reply as plain text: titles underlined, then briefs, the answer, and numbered buttons."""
    lines: list[str] = []
    for block in reply.blocks:
        lines += [block.text, "─" * min(len(block.text), 40)] if block.style == "title" else [block.text]
    lines += [render_text(payload) for payload in reply.briefs]
    if reply.answer is not None:
        lines.append(render_answer(reply.answer))
    for n, button in enumerate(itertools.chain.from_iterable(reply.buttons), start=1):
        lines.append(f"  [{n}] {button.label}")
    return "\n".join(lines)


@dataclass
class Terminal:
    """One person's chat session: who they are, and what they can press or reply to."""

    conversation: Conversation
    user: str
    admin: bool = False
    language: str = ""
    buttons: list[Button] = field(default_factory=list)
    last_answer: str = ""

    def request(self, line: str) -> Request | None:
        """The Request a typed line makes; None for an empty line or a number with no button."""
        line = line.strip()
        said = Request(
            platform=PLATFORM, user=self.user, chat=self.user, language=self.language, is_admin=self.admin,
            message=uuid.uuid4().hex[:12], syntax=DEFAULT_SYNTAX, deliveries=False, action="ask", text=line,
        )  # fmt: skip
        if line.isdigit():
            n = int(line)
            return (
                replace(said, action="", text="", button=self.buttons[n - 1].data)
                if 0 < n <= len(self.buttons)
                else None
            )
        if line.startswith(">"):
            return replace(said, text=line[1:].strip(), reply_to=self.last_answer)
        if line.startswith("/"):
            name, _, rest = line[1:].partition(" ")
            return replace(said, action=COMMANDS.get(name.lower(), f"?{name}"), text=rest.strip())
        return said if line else None

    async def say(self, line: str) -> str:
        """Type `line`; what the bot answers, as text."""
        req = self.request(line)
        if req is None:
            return ""
        reply = await self.conversation.handle(req)
        if reply.silent:
            return ""
        self.buttons = [b for row in reply.buttons for b in row]
        if reply.conversation:
            self.last_answer = req.message
            await self.conversation.posted(req, reply, req.message)
        return render(reply)


async def repl(
    ctx: Context, *, user: str, admin: bool, language: str, read: Callable[[str], str] = input
) -> None:
    """Read lines until end of input, answering each."""
    session = Terminal(Conversation(ctx), user=user, admin=admin, language=language)
    print(await session.say("/start" if not admin else "/help"))
    while True:
        try:
            line = await asyncio.to_thread(read, PROMPT)
        except (EOFError, KeyboardInterrupt):
            return
        if line.strip() in ("/quit", "/exit"):
            return
        answer = await session.say(line)
        if answer:
            print(answer)
