"""``pagination: {type: "plugin:page_token", token_field: nextPageToken, param: pageToken}``

Google-style: the next page's token is a field of the body, sent back as a query parameter; no
token (or an empty one) ends the pages.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from source_solidafy.plugins import NextPage, Page, PluginContext


class PageToken:
    kind = "paginator"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        token_field: str = "nextPageToken"
        param: str = "pageToken"
        max_pages: int | None = Field(default=None, ge=1)  # the engine honours it

    def __init__(self, options: Options, context: PluginContext) -> None:
        self.options = options

    def next_page(self, page: Page) -> NextPage | None:
        token = page.body.get(self.options.token_field) if isinstance(page.body, dict) else None
        return NextPage(params={self.options.param: token}) if token else None
