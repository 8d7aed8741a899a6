"""Language: switching to 简体中文 changes the UI texts, and the choice outlives a reload."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .gallery import open_gallery

ENGLISH = {"nav-gallery": "Gallery", "nav-admin": "Admin", "selection-toggle": "Select images"}
CHINESE = {"nav-gallery": "图库", "nav-admin": "管理", "selection-toggle": "选择图片"}


def _expect_texts(page, texts: dict[str, str]) -> None:
    for testid, text in texts.items():
        expect(page.get_by_test_id(testid)).to_contain_text(text)


def test_switching_to_simplified_chinese_changes_the_ui_texts(page, steady_stack):
    open_gallery(page, steady_stack.base_url)
    _expect_texts(page, ENGLISH)
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^en"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Gallery")
    expect(page.get_by_test_id("grid-count")).to_contain_text("images")
    english_title = page.title()

    page.get_by_test_id("language-zh-CN").click()
    _expect_texts(page, CHINESE)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("图库")
    expect(page.get_by_test_id("grid-count")).to_contain_text("张图片")
    expect(page).not_to_have_title(english_title)
    expect(page).to_have_title(re.compile("图片 URL 缓存"))
    for text in ENGLISH.values():
        expect(page.get_by_text(text, exact=True)).to_have_count(0)

    # Other views follow, and the choice is remembered across a reload.
    page.get_by_test_id("nav-admin").click()
    expect(page.get_by_role("heading", name="管理员登录")).to_be_visible()
    expect(page.get_by_test_id("admin-login")).to_have_text("登录")
    page.reload()
    expect(page.get_by_test_id("admin-login")).to_have_text("登录")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    # And back.
    page.get_by_test_id("language-en").click()
    expect(page.get_by_test_id("admin-login")).to_have_text("Sign in")
    _expect_texts(page, {"nav-gallery": "Gallery", "nav-admin": "Admin"})
