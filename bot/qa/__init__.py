"""Grounded questions and answers over the archive: passages, hybrid retrieval, cited answers or a refusal."""

from bot.qa.ask import answer_question
from bot.qa.model import Answer, Citation, QAError, RateLimited, render_answer

__all__ = ["Answer", "Citation", "QAError", "RateLimited", "answer_question", "render_answer"]
